"""Build contexts whose semantics a context archive can get wrong: modes, links, ignores, owners, quoting.

Written at test time, since git keeps neither empty directories, nor setuid or sticky bits, nor hard links.
Every case builds ``FROM $BASE`` (the local static busybox, users root and app uid 1000). RUN steps
write only deterministic output, so two builds differ in timestamps at most.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

HEAD = "ARG BASE\nFROM $BASE\n"


def _write(root: Path, files: dict[str, str], modes: dict[str, int] | None = None) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for name, mode in (modes or {}).items():
        os.chmod(root / name, mode)


def copy_root_then_user(root: Path) -> None:
    """The issue's reproduction: /app must be readable by a non-root USER."""
    _write(root, {"hello.txt": "hello\n", "Dockerfile": HEAD + "COPY . /app\nUSER 1000\nRUN cat /app/hello.txt\n"})


def modes(root: Path) -> None:
    """Special bits and unusual modes, on a context root that is not 0755."""
    _write(
        root,
        {
            "plain.txt": "plain\n",
            "exec.sh": "#!/bin/sh\necho exec\n",
            "private.txt": "private\n",
            "readonly.txt": "readonly\n",
            "setuid": "setuid\n",
            "setgid": "setgid\n",
            "closed/inside.txt": "inside\n",
            "Dockerfile": HEAD + "COPY . /m/\nRUN stat -c '%a %u %g %n' /m /m/* /m/closed/* > /m.stat\n",
        },
        {"exec.sh": 0o755, "private.txt": 0o600, "readonly.txt": 0o444, "setuid": 0o4755, "setgid": 0o2755, "closed": 0o700},
    )
    (root / "sticky").mkdir()
    os.chmod(root / "sticky", 0o1777)
    os.chmod(root, 0o751)


def symlinks(root: Path) -> None:
    """Relative, absolute, chained, directory and dangling links."""
    _write(
        root,
        {
            "target.txt": "target\n",
            "real/file.txt": "in real\n",
            "Dockerfile": HEAD
            + "COPY . /s/\nCOPY link /through-link\nCOPY dirlink/ /via-dirlink/\nRUN readlink /s/dangling > /dangling.txt\n",
        },
    )
    os.symlink("target.txt", root / "link")
    os.symlink("link", root / "chain")
    os.symlink("real", root / "dirlink")
    os.symlink("/etc/passwd", root / "absolute")
    os.symlink("missing", root / "dangling")
    (root / "sub").mkdir()
    os.symlink("../target.txt", root / "sub" / "up")


def hardlinks(root: Path) -> None:
    """Hard links in the context, and one made by RUN."""
    _write(root, {"a.txt": "shared content\n", "Dockerfile": HEAD + "COPY . /h/\nRUN ln /h/a.txt /h/made-by-run.txt\n"})
    (root / "sub").mkdir()
    os.link(root / "a.txt", root / "b.txt")
    os.link(root / "a.txt", root / "sub" / "c.txt")


def empty_dirs(root: Path) -> None:
    """Empty directories, nested and with modes of their own."""
    _write(root, {"Dockerfile": HEAD + "COPY . /e/\nCOPY empty /e2/\nCOPY nested /e3/\n"})
    for name, mode in (("empty", 0o755), ("nested/deeper/deepest", 0o755), ("private", 0o700), ("wide", 0o777)):
        (root / name).mkdir(parents=True)
        os.chmod(root / name, mode)


def dockerignore(root: Path) -> None:
    """Patterns, exceptions, directories, ** globs, and a Dockerfile that ignores itself."""
    _write(
        root,
        {
            ".dockerignore": "# comment\n*.log\n!keep.log\nbuild/\n**/*.tmp\nsecret*\nDockerfile\n",
            "a.log": "dropped\n",
            "keep.log": "kept\n",
            "build/out.bin": "dropped\n",
            "src/x.tmp": "dropped\n",
            "src/deep/y.tmp": "dropped\n",
            "src/y.py": "kept\n",
            "secret.txt": "dropped\n",
            "top.txt": "kept\n",
            "Dockerfile": HEAD + "COPY . /d/\n",
        },
    )


def chown_chmod(root: Path) -> None:
    """COPY --chown by id and by name, COPY --chmod, and RUN chown."""
    _write(
        root,
        {
            "file.txt": "file\n",
            "dir/inner.txt": "inner\n",
            "run.sh": "#!/bin/sh\necho run\n",
            "Dockerfile": HEAD
            + (
                "COPY --chown=1000:1000 . /c/\nCOPY --chown=app:app file.txt /c2/file.txt\nCOPY --chmod=750 run.sh "
                "/usr/local/bin/run\n"
            )
            + "COPY dir /c3/\nRUN chown -R 1000:1000 /c3 && chmod 640 /c3/inner.txt\n",
        },
    )


def args_env(root: Path) -> None:
    """ARG and ENV quoting, defaults and substitution; LABEL, EXPOSE, CMD in the config."""
    dockerfile = (
        HEAD
        + 'ARG PLAIN=plain\nARG QUOTED="a b  c"\nARG SINGLE=\'x "y" z\'\nARG EMPTY=""\n'
        + 'ENV A="$QUOTED" B=\'$PLAIN literal\' C=c\\ d D="${PLAIN}-${EMPTY:-fallback}" E=${UNSET:-def}\n'
        + 'ENV MULTI="one two" \\\n    NEXT=next\n'
        + 'LABEL quoted="a \\"b\\" c" plain=p\n'
        + 'RUN echo "$A|$B|$C|$D|$E|$MULTI|$NEXT|$SINGLE|$EMPTY" > /env.txt\n'
        + 'EXPOSE 8080/tcp\nCMD ["sh", "-c", "echo $A"]\n'
    )
    _write(root, {"Dockerfile": dockerfile})


def workdir(root: Path) -> None:
    """WORKDIR chains, relative and from ENV, under another USER; COPY . ."""
    dockerfile = (
        HEAD
        + "WORKDIR /w1\nWORKDIR sub\nENV D=/w2\nWORKDIR $D/x\nCOPY . .\nUSER 1000\nWORKDIR /w3\nUSER root\nRUN pwd > /pwd.txt\n"
    )
    _write(root, {"a.txt": "a\n", "Dockerfile": dockerfile})


def copy_forms(root: Path) -> None:
    """Globs, directory contents vs the directory, several sources, ADD, and COPY --from another stage."""
    dockerfile = (
        "ARG BASE\nFROM $BASE AS builder\nRUN mkdir /out && echo built > /out/f && chmod 640 /out/f\n"
        + "FROM $BASE\nCOPY *.txt /glob/\nCOPY dir /dir1\nCOPY dir/ /dir2/\nCOPY dir/y /dir3/\n"
        + "COPY a.txt b.txt /multi/\nADD a.txt /added\nCOPY --from=builder /out /out\n"
    )
    _write(root, {"a.txt": "a\n", "b.txt": "b\n", "dir/x": "x\n", "dir/y/z": "z\n", "Dockerfile": dockerfile})


def names(root: Path) -> None:
    """Spaces, non-ASCII, a leading dash, a name past ustar's 100 bytes, deep nesting."""
    _write(
        root,
        {
            "with space.txt": "space\n",
            "ünïcødé.txt": "unicode\n",
            "-dash.txt": "dash\n",
            ("long-" * 30) + ".txt": "long\n",
            "a/b/c/d/e/f/g/h/deep.txt": "deep\n",
            "Dockerfile": HEAD + "COPY . /n/\n",
        },
    )


CASES: dict[str, Callable[[Path], None]] = {
    f.__name__.replace("_", "-"): f
    for f in (
        copy_root_then_user,
        modes,
        symlinks,
        hardlinks,
        empty_dirs,
        dockerignore,
        chown_chmod,
        args_env,
        workdir,
        copy_forms,
        names,
    )
}


def write_corpus(directory: Path) -> dict[str, Path]:
    """One context directory per case under ``directory``; the context roots are 0755 unless a case says otherwise."""
    contexts = {}
    for name, make in CASES.items():
        root = directory / name
        root.mkdir(mode=0o755)
        os.chmod(root, 0o755)
        make(root)
        contexts[name] = root
    return contexts
