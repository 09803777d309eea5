"""A container registry's Airflow Connection, read in one place: its host, login, CA bundle and UI link template.

Conn type ``oci_registry``, this package's (its form: ``get_provider_info``), or ``docker``, as the Docker
provider defines it: host, port, login, password; extra ``ca_file`` and ``image_url_template``. The host is
checked as go-containerregistry's ``name.NewRegistry`` checks a registry: an RFC 3986 authority,
``host[:port]``, nothing else. So ``https://robot:pw@registry…`` is refused without being echoed (Airflow
masks a connection's ``password`` and ``extra``, never its host).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow.providers.common.compat.sdk import BaseHook
from airflow_kaniko.errors import KanikoError, KanikoSpecError
from airflow_kaniko.oci.reference import DOCKER_HUB, DOCKER_HUB_ALIASES, is_registry

if TYPE_CHECKING:
    from airflow_kaniko.oci.registry_client import Registries

# Docker Hub's legacy config.json key, which people copy into a connection's host.
_DOCKER_HUB_URL = "https://index.docker.io/v1/"


class RegistryLogin(NamedTuple):
    """What a build mounts: the registry (``host[:port]``) and the credentials for it, all checked to be there."""

    host: str
    login: str
    password: str


@dataclass(frozen=True)
class RegistryConnection:
    """A registry connection's values, checked.

    :param host: ``host[:port]`` as image references spell it (``docker.io`` for Docker Hub); "" when unset.
    :param ca_file: the extra ``ca_file``: a CA bundle on the worker for this host's TLS.
    :param image_url_template: the extra ``image_url_template``, unchecked (``links.registry_ui`` checks it).
    """

    conn_id: str
    conn_type: str
    host: str
    login: str
    password: str = field(repr=False)
    ca_file: str | None = None
    image_url_template: str | None = None


def registry_host(field: str, conn_id: str, host: str | None, port: int | None = None) -> str:
    """A connection's ``host`` (and separate ``port``) as ``host[:port]``; "" when it has no host.

    ``https://`` is stripped (and Docker Hub's ``https://index.docker.io/v1/`` named ``docker.io``). A
    host with userinfo is refused by naming ``field`` and the connection, never the host itself.
    """
    text = (host or "").strip()
    if "@" in text:  # no registry name has one: it is user[:password]@ before the host
        raise KanikoSpecError(
            field, conn_id, "the connection's host holds userinfo (user:password@); put them in its login and password"
        )
    if not text:
        return ""
    if text == _DOCKER_HUB_URL:
        text = DOCKER_HUB
    scheme, sep, rest = text.partition("://")
    if sep and scheme.lower() != "https":
        raise KanikoSpecError(
            field,
            conn_id,
            f"the connection's host {text!r} must be host[:port] or https://host[:port] (plain HTTP is"
            " the DAG author's insecure_registries)",
        )
    text = (rest if sep else text).rstrip("/")
    if port:
        _, has_port, own_port = text.rpartition(":") if not text.endswith("]") else ("", "", "")
        if has_port and own_port.isdigit():
            if int(own_port) != int(port):
                raise KanikoSpecError(field, conn_id, f"the connection's host {text!r} and port {port} disagree")
        else:
            text = f"{text}:{port}"
    if not is_registry(text):
        raise KanikoSpecError(
            field, conn_id, f"the connection's host {text!r} is not a registry such as 'registry.example.com:5000'"
        )
    return DOCKER_HUB if text in DOCKER_HUB_ALIASES else text


class RegistryHook(BaseHook):
    """A container registry's connection (conn type ``oci_registry``, or ``docker``).

    :param registry_conn_id: the connection; its ``host`` (with ``port``) names the registry its login is for.
    """

    conn_name_attr = "registry_conn_id"
    default_conn_name = "kaniko_registry"
    conn_type = "oci_registry"
    hook_name = "OCI registry (Kaniko)"
    #: The conn types a build accepts: ours, and the Docker provider's that connections had before it.
    conn_types: tuple[str, ...] = ("oci_registry", "docker")

    def __init__(self, registry_conn_id: str = default_conn_name, field: str = conn_name_attr, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.registry_conn_id = registry_conn_id
        self.field = field  # the parameter that named the connection, for errors

    @cached_property
    def connection(self) -> RegistryConnection:
        conn = self.get_connection(self.registry_conn_id)
        extra = conn.extra_dejson or {}
        return RegistryConnection(
            conn_id=self.registry_conn_id,
            conn_type=conn.conn_type or "",
            host=registry_host(self.field, self.registry_conn_id, conn.host, conn.port),
            login=conn.login or "",
            password=conn.password or "",
            ca_file=extra.get("ca_file") or None,
            image_url_template=extra.get("image_url_template") or None,
        )

    def get_conn(self) -> RegistryConnection:
        return self.connection

    def login(self) -> RegistryLogin:
        """The registry and its credentials for a build's docker config; each must be set, the conn type accepted."""
        conn = self.connection
        if conn.conn_type not in self.conn_types:
            accepted = " or ".join(repr(t) for t in self.conn_types)
            raise KanikoSpecError(self.field, conn.conn_id, f"has conn type {conn.conn_type!r}; it must be {accepted}")
        missing = [name for name in ("host", "login", "password") if not getattr(conn, name)]
        if missing:
            raise KanikoSpecError(self.field, conn.conn_id, f"has no {' or '.join(missing)}")
        return RegistryLogin(conn.host, conn.login, conn.password)

    def test_connection(self) -> tuple[bool, str]:
        """``GET /v2/`` with the connection's credentials (and CA bundle): what ``airflow connections test`` and
        the UI's Test button report. The message names the host and the login, never the password."""
        from airflow_kaniko.kaniko.redaction import Redactor
        from airflow_kaniko.oci.registry_client import Credentials, Registry

        redactor = Redactor()
        try:
            conn = self.connection
            redactor.add(conn.password)
            if not conn.host:
                return False, f"Connection {conn.conn_id!r} has no host"
            credentials = Credentials(conn.login, conn.password) if conn.login else None
            # One attempt within 30 s: a test reports what it met, and answers while the UI waits.
            with Registry(conn.host, credentials=credentials, ca_file=conn.ca_file, attempts=1, deadline=30) as registry:
                registry.ping()
        except KanikoError as err:
            return False, redactor.redact(str(err))
        who = f"as {conn.login!r}" if conn.login else "anonymously"
        return True, f"Connection successful: {conn.host} answered GET /v2/ {who}"


def registries(registry_conn_id: str | None, base_registry_connections: Mapping[str, str] | None = None) -> Registries:
    """Registry clients: the build registry with its connection, other hosts anonymous unless mapped.

    A connection's credentials go only to its own host (``host[:port]`` of the connection), so a
    mapping can never send one registry's password to another. A connection's extra
    ``ca_file`` is the CA bundle for its host.
    """
    from airflow_kaniko.maintenance.planner import PlanError
    from airflow_kaniko.oci.registry_client import Credentials, Registries

    credentials: dict[str, Credentials] = {}
    ca_files: dict[str, str] = {}
    wanted: dict[str | None, str | None] = {None: registry_conn_id}
    wanted.update(base_registry_connections or {})
    for host, conn_id in wanted.items():
        if not conn_id:  # no default connection: a manifest that names its registry may push anonymously
            continue
        field = "registry_conn_id" if host is None else f"base_registry_connections[{host!r}]"
        conn = RegistryHook(conn_id, field=field).connection
        if host is not None and conn.host != host:
            raise PlanError(f"{field}={conn_id!r}: that connection is for host {conn.host!r}, not {host!r}")
        if conn.login:
            credentials[conn.host] = Credentials(conn.login, conn.password)
        if conn.ca_file:
            ca_files[conn.host] = conn.ca_file
    return Registries(credentials, ca_files)
