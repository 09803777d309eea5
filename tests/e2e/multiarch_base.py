"""A two-platform (linux/amd64 + linux/arm64) busybox base image in the local registry, made with the registry adapter.

The amd64 binary is the machine's busybox-static; the arm64 one is Debian's busybox-static for
arm64, fetched (and cached by version) by dev/localkube/fetch-foreign-busybox.sh.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

from registry_seed import Seeder

from airflow_kaniko.oci.index_push import push_index
from airflow_kaniko.oci.registry_client import Credentials, Manifest, Registries
from tests.conftest import ROOT

HOST_BUSYBOX = Path("/bin/busybox")
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG = "application/vnd.oci.image.config.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def arm64_busybox() -> Path:
    out = subprocess.run(
        [str(ROOT / "dev" / "localkube" / "fetch-foreign-busybox.sh"), "arm64"], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip().splitlines()[-1])


def _layer(busybox: Path, applets: list[str]) -> tuple[bytes, str]:
    """A gzipped tar with /bin/busybox, a hard link per applet, /tmp and /etc/passwd; and its diff_id."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("bin", "etc", "tmp"):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if name == "tmp" else 0o755
            tar.addfile(info)
        data = busybox.read_bytes()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
        for applet in applets:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mode = tarfile.LNKTYPE, "bin/busybox", 0o755
            tar.addfile(link)
        passwd = b"root:x:0:0:root:/root:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        tar.addfile(info, io.BytesIO(passwd))
    return gzip.compress(raw.getvalue(), mtime=0), "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()


def push_base(cluster, repository: str) -> dict[str, str]:
    """Push ``repository:latest`` as an OCI index of linux/amd64 and linux/arm64; returns platform -> digest, and "index"."""
    applets = [
        a
        for a in subprocess.run([str(HOST_BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout.split()
        if a != "busybox"
    ]
    digests: dict[str, str] = {}
    with Registries({cluster.registry: Credentials(*cluster.credentials())}, {cluster.registry: cluster.registry_ca}) as clients:
        registry = clients.for_host(cluster.registry)
        seeder = Seeder(cluster.registry, Credentials(*cluster.credentials()), cluster.registry_ca)
        for arch, busybox in (("amd64", HOST_BUSYBOX), ("arm64", arm64_busybox())):
            layer, diff_id = _layer(busybox, applets)
            config = json.dumps(
                {
                    "architecture": arch,
                    "os": "linux",
                    "config": {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/bin/sh"]},
                    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                    # One history entry per layer, as real images have (Kaniko's --reproducible walks them).
                    "created": "1970-01-01T00:00:00Z",
                    "history": [{"created": "1970-01-01T00:00:00Z", "created_by": f"busybox-static ({arch})"}],
                },
                sort_keys=True,
            ).encode()
            body = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": MANIFEST,
                    "config": {"mediaType": CONFIG, "digest": seeder.push_blob(repository, config), "size": len(config)},
                    "layers": [{"mediaType": LAYER, "digest": seeder.push_blob(repository, layer), "size": len(layer)}],
                },
                sort_keys=True,
            ).encode()
            manifest = Manifest(body, MANIFEST, "sha256:" + hashlib.sha256(body).hexdigest())
            registry.put_manifest(repository, f"latest-linux-{arch}", manifest)
            digests[f"linux/{arch}"] = manifest.digest
        digests["index"] = push_index(clients, [f"{cluster.registry}/{repository}:latest"], dict(digests), log=lambda _: None)
    return digests
