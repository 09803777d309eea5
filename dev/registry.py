"""Ask the registry what it serves, with the same credentials the builds use."""

from __future__ import annotations

import requests

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


def manifest_digest(registry: str, reference: str, auth: tuple[str, str], ca: str | None) -> str:
    """The registry's Docker-Content-Digest for ``<registry>/<repository>:<tag>``."""
    name, _, tag = reference.removeprefix(f"{registry}/").rpartition(":")
    response = requests.get(
        f"https://{registry}/v2/{name}/manifests/{tag}",
        headers={"Accept": MANIFEST_TYPES},
        auth=auth,
        verify=ca or True,
        timeout=30,
    )
    response.raise_for_status()
    return response.headers["Docker-Content-Digest"]


def fetch_image(
    registry: str, repository: str, digest: str, auth: tuple[str, str], ca: str | None
) -> tuple[dict, dict, list[bytes]]:
    """The manifest, the config and the layer blobs (compressed, in order) of ``<repository>@<digest>``."""

    def get(path: str, accept: str | None = None) -> requests.Response:
        response = requests.get(
            f"https://{registry}/v2/{repository}/{path}",
            headers={"Accept": accept} if accept else {},
            auth=auth,
            verify=ca or True,
            timeout=60,
        )
        response.raise_for_status()
        return response

    manifest = get(f"manifests/{digest}", MANIFEST_TYPES).json()
    config = get(f"blobs/{manifest['config']['digest']}").json()
    return manifest, config, [get(f"blobs/{layer['digest']}").content for layer in manifest["layers"]]
