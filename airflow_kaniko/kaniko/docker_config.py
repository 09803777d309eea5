"""Render the docker ``config.json`` that Kaniko reads its registry credentials from."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.oci import reference

# Docker Hub's credentials live under this legacy key, which Kaniko's keychain looks up.
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_DOCKER_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", DOCKER_HUB_KEY}


def registry_key(host: str) -> str:
    """The ``auths`` key for a registry given as ``host[:port]`` or a URL."""
    if not isinstance(host, str) or not host.strip():
        raise KanikoSpecError("registry host", host, "is empty; set the connection's host to the registry")
    host = host.strip()
    if host in _DOCKER_HUB_ALIASES:
        return DOCKER_HUB_KEY
    netloc = urlsplit(host).netloc if "://" in host else host.rstrip("/")
    if netloc in _DOCKER_HUB_ALIASES:
        return DOCKER_HUB_KEY
    if not reference.is_registry(netloc):
        raise KanikoSpecError("registry host", host, "is not a registry such as 'registry.example.com:5000'")
    return netloc


def basic_auth(username: str, password: str) -> str:
    """The ``auth`` value: base64 of ``user:password``, a secret as much as the password."""
    if not username:
        raise KanikoSpecError("registry login", username, "is empty")
    if not password:
        raise KanikoSpecError("registry password", "<empty>", "is empty")
    if ":" in username:
        raise KanikoSpecError("registry login", username, "must not contain ':'")
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def render_docker_config(registry: str, username: str, password: str) -> bytes:
    """``{"auths": {registry: {"auth": base64(user:password)}}}`` as bytes."""
    auth = basic_auth(username, password)
    return json.dumps({"auths": {registry_key(registry): {"auth": auth}}}, sort_keys=True).encode()


def secret_forms(username: str, password: str, config: bytes) -> tuple[str, ...]:
    """Every form of the credentials a build could print: the password, ``auth``, the file, its base64."""
    text = config.decode()
    return (password, basic_auth(username, password), text, base64.b64encode(config).decode())
