import functools
import gzip
import hashlib
import io
import os
import re
import tarfile
from pathlib import Path

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko import context_archive
from airflow_kaniko.kaniko.context_archive import MAX_ARCHIVE_BYTES, pack_context


def members(data):
    """Members by name, without the './' prefix every entry has."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name.removeprefix("./") or ".": m for m in tar.getmembers()}


@pytest.fixture
def ctx(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\nCOPY . /src\n")
    (tmp_path / "app.py").write_text("print('hi')\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text("s3cret\n")
    (tmp_path / "notes.md").write_text("notes\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "keep.md").write_text("kept, *.md only matches at the root\n")
    (tmp_path / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(tmp_path / "run.sh", 0o755)
    (tmp_path / ".dockerignore").write_text("# comment\nsecrets\n*.md\n!README.md\n")
    (tmp_path / "README.md").write_text("readme\n")
    return tmp_path


def test_dockerignore_applied_while_packing(ctx):
    archive = pack_context(ctx)
    names = set(members(archive.data))
    # Docker sends .dockerignore itself too; docker-py's matcher does the same.
    assert names == {".", ".dockerignore", "Dockerfile", "app.py", "run.sh", "sub", "sub/keep.md", "README.md"}
    assert archive.ignored == 3  # secrets, secrets/token, notes.md
    assert b"s3cret" not in gzip.decompress(archive.data)


def test_metadata_normalised_and_modes_kept(ctx):
    archive = pack_context(ctx)
    info = members(archive.data)
    assert {(m.uid, m.gid, m.mtime, m.uname) for m in info.values()} == {(0, 0, 0, "")}
    assert info["run.sh"].mode & 0o777 == 0o755
    assert info["sub"].isdir()


def test_reproducible(ctx):
    first = pack_context(ctx).data
    os.utime(ctx / "app.py", (1, 1))
    assert pack_context(ctx).data == first


def test_dockerfile_is_kept_even_if_ignored(ctx):
    (ctx / ".dockerignore").write_text("Dockerfile\n")
    assert "Dockerfile" in members(pack_context(ctx).data)


def test_symlink_kept_as_link(ctx):
    os.symlink("app.py", ctx / "link.py")
    assert members(pack_context(ctx).data)["link.py"].issym()


def test_missing_directory(tmp_path):
    with pytest.raises(KanikoSpecError, match="is not a directory") as info:
        pack_context(tmp_path / "nope")
    assert info.value.field == "context"


def test_missing_dockerfile(ctx):
    with pytest.raises(KanikoSpecError, match="does not exist") as info:
        pack_context(ctx, "Dockerfile.prod")
    assert info.value.field == "dockerfile"


def test_dockerfile_outside_context(ctx, tmp_path_factory):
    with pytest.raises(KanikoSpecError, match="inside the context"):
        pack_context(ctx / "sub", "../Dockerfile")


def test_too_big_for_a_configmap(ctx):
    (ctx / "blob.bin").write_bytes(os.urandom(MAX_ARCHIVE_BYTES + 1))
    with pytest.raises(KanikoSpecError, match=r"git://, s3:// or gs:// context") as info:
        pack_context(ctx)
    assert info.value.field == "context"


class CountingFile:
    def __init__(self, path, reads, budget):
        self._fh, self._name, self._reads, self._budget = open(path, "rb"), Path(path).name, reads, budget  # noqa: SIM115

    def read(self, size=-1):
        data = self._fh.read(size)
        self._reads[self._name] = self._reads.get(self._name, 0) + len(data)
        # Stops a runaway read at once, rather than after a gigabyte.
        assert sum(self._reads.values()) <= self._budget, f"read {self._reads} bytes, over the budget"
        return data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


@pytest.fixture
def reads(monkeypatch):
    """Bytes read from each file while packing; the module's ``open`` is the only way pack_context reads a file."""
    counts: dict[str, int] = {}
    budget = 4 * MAX_ARCHIVE_BYTES
    monkeypatch.setattr(context_archive, "open", lambda path, mode: CountingFile(path, counts, budget), raising=False)
    return counts


# Issue 17, item 11: the size limit holds while packing, not after the whole archive is in memory.
def test_sparse_file_refused_from_its_size_before_a_byte_is_read(ctx, reads):
    (ctx / "sparse.bin").touch()
    os.truncate(ctx / "sparse.bin", 1 << 30)
    with pytest.raises(KanikoSpecError) as info:
        pack_context(ctx)
    assert (info.value.field, info.value.value) == ("context", str(ctx))
    held = int(re.fullmatch(r"holds (\d+) bytes of files or more, which no gzip packs into .*", info.value.reason)[1])
    assert held > 1 << 30 and info.value.reason.endswith("; trim it with .dockerignore or use a git://, s3:// or gs:// context")
    assert "sparse.bin" not in reads


def test_incompressible_file_stops_being_read_at_the_limit(ctx, reads):
    (ctx / "blob.bin").write_bytes(os.urandom(4 * MAX_ARCHIVE_BYTES))
    with pytest.raises(KanikoSpecError) as info:
        pack_context(ctx)
    assert info.value.reason == (
        f"packs to more than the {MAX_ARCHIVE_BYTES} bytes a ConfigMap can carry; "
        "trim it with .dockerignore or use a git://, s3:// or gs:// context"
    )
    # Random bytes don't compress: what was read is what was written, and both stop near the limit.
    assert MAX_ARCHIVE_BYTES // 2 < reads["blob.bin"] < MAX_ARCHIVE_BYTES + 256 * 1024


# Issue 8, item 11: without an entry for the context root, Kaniko's tar:// unpacking creates it 0750,
# and `COPY . /app` gives /app 0750, unreadable to a non-root USER.
@pytest.mark.parametrize("mode", [0o755, 0o751, 0o700, 0o1777])
def test_context_root_is_the_first_entry_with_its_real_mode(ctx, mode):
    os.chmod(ctx, mode)
    data = pack_context(ctx).data
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        first = tar.getmembers()[0]
    # tarfile reads a directory's name without its trailing slash; the header holds "./", as GNU tar writes it.
    assert gzip.decompress(data)[:3] == b"./\0"
    assert (first.name, first.isdir(), first.mode, first.uid, first.gid, first.mtime, first.uname) == (
        ".",
        True,
        mode,
        0,
        0,
        0,
        "",
    )


def test_every_entry_is_dot_slash_prefixed_as_tar_c_dot_writes_them(ctx):
    os.link(ctx / "app.py", ctx / "hard.py")
    with tarfile.open(fileobj=io.BytesIO(pack_context(ctx).data), mode="r:gz") as tar:
        entries = tar.getmembers()
    assert entries[0].name == "." and all(m.name.startswith("./") for m in entries[1:])
    assert len({m.name for m in entries}) == len(entries)
    # A hard link names its target by the target's entry name.
    hard = next(m for m in entries if m.name in ("./hard.py", "./app.py") and m.islnk())
    assert hard.linkname in ("./app.py", "./hard.py") and hard.linkname != hard.name


def test_special_modes_kept(ctx):
    os.chmod(ctx / "run.sh", 0o4755)
    os.chmod(ctx / "sub", 0o1777)
    info = members(pack_context(ctx).data)
    assert info["run.sh"].mode == 0o4755 and info["sub"].mode == 0o1777


def test_reproducible_whatever_the_root_mtime(ctx):
    first = pack_context(ctx).data
    os.utime(ctx, (12345, 12345))
    assert pack_context(ctx).data == first


# Issue 18, item 3: the context's digest is the uncompressed tar's, so another zlib or compression level on a
# worker does not re-fingerprint every image.
def test_the_tar_digest_is_the_uncompressed_tars_whatever_the_compression_level(ctx, monkeypatch):
    default = pack_context(ctx)
    assert default.tar_digest == "sha256:" + hashlib.sha256(gzip.decompress(default.data)).hexdigest()
    monkeypatch.setattr(context_archive.gzip, "GzipFile", functools.partial(gzip.GzipFile, compresslevel=1))
    fast = pack_context(ctx)
    assert fast.data != default.data  # other gzip bytes ...
    assert fast.tar_digest == default.tar_digest  # ... the same context
    (ctx / "app.py").write_text("print('changed')\n")
    assert pack_context(ctx).tar_digest != default.tar_digest


def _member(archive, name):
    with tarfile.open(fileobj=io.BytesIO(archive.data), mode="r:gz") as tar:
        return tar.extractfile(name).read(), tar.getnames()


def test_replace_rewrites_one_member_and_leaves_the_rest_as_packed(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM reg.io/a:1\n")
    (tmp_path / "app.txt").write_text("app\n")
    archive = pack_context(tmp_path)
    assert archive.replace("Dockerfile", lambda data: data).tar_digest == archive.tar_digest  # same bytes, same tar
    pinned = archive.replace("./Dockerfile", lambda data: data.replace(b"a:1", b"a:1@sha256:" + b"1" * 64))
    content, names = _member(pinned, "./Dockerfile")
    assert content == b"FROM reg.io/a:1@sha256:" + b"1" * 64 + b"\n"
    assert names == _member(archive, "./Dockerfile")[1] == [".", "./Dockerfile", "./app.txt"]
    assert _member(pinned, "./app.txt")[0] == b"app\n"
    assert pinned.tar_digest != archive.tar_digest and pinned.members == archive.members
    assert pack_context(tmp_path).tar_digest == archive.tar_digest  # the file on disk is untouched


def test_replace_of_a_file_the_archive_lacks_is_refused(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM reg.io/a:1\n")
    with pytest.raises(KanikoSpecError, match=r"dockerfile='sub/Dockerfile': is not a file of the packed context"):
        pack_context(tmp_path).replace("sub/Dockerfile", lambda data: data)
