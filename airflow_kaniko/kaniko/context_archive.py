"""Pack a local build context into one reproducible tar.gz, honouring .dockerignore.

Ignored files are dropped while packing, so they never leave the worker. The
.dockerignore matching is docker-py's, which follows moby's rules.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_kaniko.errors import KanikoSpecError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

# A ConfigMap object is capped at 1 MiB, and binaryData is stored base64-encoded.
CONFIGMAP_LIMIT = 1024 * 1024
_OBJECT_OVERHEAD = 16 * 1024
MAX_ARCHIVE_BYTES = (CONFIGMAP_LIMIT - _OBJECT_OVERHEAD) * 3 // 4
# Deflate's best ratio is 1032:1 (zlib's technical details): files larger in total than this many times the
# limit cannot fit, so they are refused from their sizes, before a byte is read.
_DEFLATE_MAX_RATIO = 1032


class _OverLimit(Exception):
    """The archive grew past MAX_ARCHIVE_BYTES."""


class _CappedBuffer(io.BytesIO):
    """The archive's bytes: the first write past ``limit`` raises, so an oversized context is never built whole."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit

    def write(self, data: ReadableBuffer, /) -> int:
        if self.tell() + memoryview(data).nbytes > self._limit:
            raise _OverLimit
        return super().write(data)


class _HashingWriter(io.BufferedIOBase):
    """The tar stream on its way into gzip: its sha256 taken in the same pass."""

    def __init__(self, target: gzip.GzipFile) -> None:
        super().__init__()
        self._target = target
        self._written = 0
        self.sha256 = hashlib.sha256()

    def write(self, data: ReadableBuffer, /) -> int:
        self.sha256.update(data)
        self._written += memoryview(data).nbytes
        return self._target.write(data)

    def writable(self) -> bool:
        return True

    def tell(self) -> int:  # tarfile asks where the stream starts
        return self._written


@dataclass(frozen=True)
class ContextArchive:
    """A packed context: the gzip bytes, and what went into them.

    :param tar_digest: ``sha256:<hex>`` of the uncompressed tar inside ``data``: the context's identity,
        the same whatever zlib or compression level packed it. The maintenance plan fingerprints it, so a
        build that packs the context again can check it ships what the plan fingerprinted.
    """

    data: bytes
    members: tuple[str, ...]
    ignored: int
    tar_digest: str

    def describe(self) -> str:
        return f"{len(self.members)} entries, {len(self.data)} bytes gzipped, {self.ignored} ignored by .dockerignore"

    def replace(self, member: str, transform: Callable[[bytes], bytes]) -> ContextArchive:
        """This archive with the content of ``member`` (a path relative to the context) transformed, all else as packed.

        The content transformed is the one packed here, so it is exactly what was checked (``tar_digest``);
        the new archive's ``tar_digest`` is its own. Raise :class:`KanikoSpecError` if the archive has no
        such file or the result outgrows the limit.
        """
        wanted = "./" + os.path.normpath(member)
        buffer = _CappedBuffer(MAX_ARCHIVE_BYTES)
        replaced = False
        try:
            with (
                tarfile.open(fileobj=io.BytesIO(self.data), mode="r:gz") as source,
                gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz,
                tarfile.open(fileobj=(tar_stream := _HashingWriter(gz)), mode="w", format=tarfile.PAX_FORMAT) as tar,
            ):
                for info in source:
                    content = source.extractfile(info) if info.isfile() else None
                    if info.name == wanted and content is not None:
                        data = transform(content.read())
                        info.size, content, replaced = len(data), io.BytesIO(data), True
                    tar.addfile(info, content)
        except _OverLimit:
            raise KanikoSpecError(
                "context", member, f"packs to more than the {MAX_ARCHIVE_BYTES} bytes a ConfigMap can carry"
            ) from None
        if not replaced:
            raise KanikoSpecError("dockerfile", member, "is not a file of the packed context")
        digest = "sha256:" + tar_stream.sha256.hexdigest()
        return ContextArchive(data=buffer.getvalue(), members=self.members, ignored=self.ignored, tar_digest=digest)


def pack_context(directory: str | os.PathLike[str], dockerfile: str = "Dockerfile") -> ContextArchive:
    """Pack ``directory`` for ``--context=tar://``; raise :class:`KanikoSpecError` if it can't be."""
    root = Path(directory)
    if not root.is_dir():
        raise KanikoSpecError("context", str(directory), "is not a directory on this worker")
    dockerfile_path = root / dockerfile
    if not dockerfile_path.is_file():
        raise KanikoSpecError("dockerfile", dockerfile, f"does not exist in the context {str(root)!r}")
    if not dockerfile_path.resolve().is_relative_to(root.resolve()):
        raise KanikoSpecError("dockerfile", dockerfile, "must stay inside the context directory")

    # docker-py costs ~35 ms to import, so it is imported when a context is packed, not at DAG parse.
    from docker.utils.build import exclude_paths

    patterns = _read_dockerignore(root)
    kept = sorted(exclude_paths(str(root), patterns, dockerfile=dockerfile))
    every = sum(len(dirs) + len(files) for _, dirs, files in os.walk(root))

    buffer = _CappedBuffer(MAX_ARCHIVE_BYTES)
    limit = f"the {MAX_ARCHIVE_BYTES} bytes a ConfigMap can carry"
    hint = "trim it with .dockerignore or use a git://, s3:// or gs:// context"
    file_bytes = 0
    try:
        # mtime=0 in the gzip header and fixed tar metadata make the archive reproducible.
        with (
            gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz,
            tarfile.open(fileobj=(tar_stream := _HashingWriter(gz)), mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            # The root comes first, with its real mode: without it Kaniko's tar:// unpacking creates the
            # context directory 0750, and `COPY . /app` passes that on. Names are "./"-prefixed, as
            # `tar -C <dir> -c .` writes them.
            for name in [".", *kept]:
                info = tar.gettarinfo(str(root / name), arcname=f"./{name}" if name != "." else ".")
                if info is None:  # sockets and the like
                    continue
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0
                if info.isfile():
                    file_bytes += info.size
                    if file_bytes > MAX_ARCHIVE_BYTES * _DEFLATE_MAX_RATIO:
                        reason = f"holds {file_bytes} bytes of files or more, which no gzip packs into {limit}; {hint}"
                        raise KanikoSpecError("context", str(directory), reason)
                    with open(root / name, "rb") as fh:
                        tar.addfile(info, fh)
                else:
                    tar.addfile(info)
    except _OverLimit:
        raise KanikoSpecError("context", str(directory), f"packs to more than {limit}; {hint}") from None
    data = buffer.getvalue()
    tar_digest = "sha256:" + tar_stream.sha256.hexdigest()
    return ContextArchive(data=data, members=tuple(kept), ignored=every - len(kept), tar_digest=tar_digest)


def _read_dockerignore(root: Path) -> list[str]:
    path = root / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]
