"""The images a Dockerfile build pulls and the remote files it adds, after ARG substitution, as the executor sees them.

Parsing is the official Go parser's (the ``dockerfile`` package); ``$VAR``,
``${VAR}``, ``${VAR:-default}``, ``${VAR-default}`` and ``${VAR:+alt}`` are expanded
by ``expandvars``. What this module adds is Docker's scoping rules:

- a ``FROM`` line sees only the global ARGs (declared before the first ``FROM``);
  an ARG declared inside a stage never reaches a later ``FROM``;
- a build arg overrides a declared ARG's default, and is ignored for a name that no
  global ARG declares;
- ARG names are case-sensitive, stage names are not (``AS Build`` is ``build``);
- ``FROM <stage>`` and ``COPY --from=<stage>`` refer to an earlier stage, ``scratch``
  to nothing; everything else is an external image;
- inside a stage, ``ADD`` sees the stage's ARGs (a bare ``ARG NAME`` takes a global ARG's
  value) and its ENVs (inherited by ``FROM <stage>``), ENV winning over ARG.

An ``ADD`` source is remote when it has a scheme and a host, as the executor's
``IsSrcRemoteFileURL`` (Go's ``url.ParseRequestURI``) decides, or is a git address
(``git@host:repo.git``); one that uses a variable the Dockerfile does not set (the base
image's ENV) or cannot be expanded here counts as remote too: its content cannot be known.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_kaniko.errors import KanikoError
from airflow_kaniko.kaniko.base_pins import BasePin
from airflow_kaniko.oci.reference import is_reference, split

_ESCAPE_DIRECTIVE_RE = re.compile(r"#\s*escape\s*=\s*([\\`])\s*$", re.IGNORECASE)
# Forms expandvars reads differently from Docker: ${#V}, ${!V}, ${V:1} (Docker refuses them), and
# ${V-x}/${V+x} on an ARG set to "" (expandvars treats empty as unset there).
_FOREIGN_FORM_RE = re.compile(r"\$\{[#!]|\$\{[A-Za-z_][A-Za-z0-9_]*:(?![-+?])")
_NO_COLON_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)[-+]")
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")
# Go's url.ParseRequestURI: a scheme, then "//" and a non-empty authority. Only a userinfo ("u@") is
# counted too: erring on the side of "remote" costs a rebuild, the other side a skipped one.
_URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]+)([^?#]*)(\?[^#]*)?(#.*)?", re.DOTALL)
_SCP_GIT_RE = re.compile(r"([^/:@\s]+@)([^/:\s]+:.*)", re.DOTALL)  # git@github.com:org/repo.git
_SHOWN_MAX = 100


class DockerfileError(KanikoError, ValueError):
    """A Dockerfile's base images cannot be determined.

    :param path: the Dockerfile, as the caller names it.
    :param line: 1-based line of the offending instruction, when known.
    :param reason: what is wrong.
    """

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        super().__init__(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")


@dataclass(frozen=True)
class BaseImage:
    """One image reference the build pulls.

    :param line: where it appears.
    :param written: the reference as written, before substitution (``${BASE}``).
    :param reference: after substitution (``registry/library/busybox:latest``).
    :param args: the ARG names the reference went through (``("BASE",)``), for pinning.
    :param stage: the index of the stage it is the base of, or ``None`` for ``COPY --from``.
    """

    line: int
    written: str
    reference: str
    args: tuple[str, ...]
    stage: int | None


@dataclass(frozen=True)
class RemoteSource:
    """An ``ADD`` source whose content only the build fetches.

    :param line: where the ``ADD`` is.
    :param written: the source as written (``${URL}``).
    :param source: after substitution, or ``None`` when it cannot be expanded here.
    """

    line: int
    written: str
    source: str | None

    def shown(self) -> str:
        """The source for a report line: userinfo and query replaced by ``***``, at most 100 characters."""
        text = self.source if self.source is not None else self.written
        url, scp = _URL_RE.fullmatch(text), _SCP_GIT_RE.fullmatch(text)
        if url:
            scheme, authority, path, query, fragment = url.groups()
            authority = "***@" + authority.rpartition("@")[2] if "@" in authority else authority
            text = scheme + authority + path + ("?***" if query else "") + (fragment or "")
        elif scp:
            text = "***@" + scp[2]
        text = "".join(c if c.isprintable() else "?" for c in text)
        return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 1] + "…"


def pin_images(
    text: str,
    pins: Sequence[BasePin],
    build_args: Mapping[str, str] | None = None,
    *,
    target: str | None = None,
    path: str = "Dockerfile",
) -> str:
    """``text`` with each pinned image's reference replaced by its ``registry/repo:tag@digest``, all else as written.

    Only the image word of a ``FROM``, a ``--from=`` flag or a ``--mount=…,from=`` flag on the
    instruction that starts at ``pin["line"]`` is replaced. The result is parsed again: every pinned
    image must now be its pin, and every other image must be as before, or :class:`DockerfileError`.
    """
    lines = text.splitlines(keepends=True)
    spans = {c.start_line: (c.cmd.upper(), c.end_line) for c in _parse(text, path)}
    for pin in pins:
        line, written, pinned = pin["line"], pin["written"], pin["pinned"]
        if not split(pinned)[3]:
            raise DockerfileError(path, line, f"pin {pinned!r} for {written!r} is not pinned by digest")
        cmd, end = spans.get(line, ("", line))
        pattern = _PIN_PATTERNS.get(cmd)
        if pattern is None:
            raise DockerfileError(path, line, f"cannot pin {written!r}: no FROM, COPY, ADD or RUN starts on this line")
        segment = "".join(lines[line - 1 : end])
        found = re.compile(pattern.format(re.escape(written)), re.IGNORECASE | re.MULTILINE)
        segment, count = found.subn(lambda m, pinned=pinned: m[1] + pinned, segment, count=1 if cmd == "FROM" else 0)
        if not count:
            raise DockerfileError(path, line, f"cannot pin {written!r}: not found where the parser saw it")
        lines[line - 1 : end] = segment.splitlines(keepends=True)
    result = "".join(lines)
    before = build_bases(text, build_args, target=target, path=path).images
    after = build_bases(result, build_args, target=target, path=path).images
    wanted = {(p["line"], p["written"]): p["pinned"] for p in pins}
    expected = [(b.line, wanted.get((b.line, b.written), b.reference)) for b in before]
    if [(a.line, a.reference) for a in after] != expected:
        raise DockerfileError(path, None, f"pinning the base images changed more than their references: {pins!r}")
    return result


# The image word of each instruction that can name one; {} is the written reference, escaped.
_PIN_PATTERNS = {
    "FROM": r"^(\s*FROM(?:\s+--\S+)*\s+){}(?=\s|$)",
    "COPY": r"(--from=){}(?=\s|$)",
    "ADD": r"(--from=){}(?=\s|$)",
    "RUN": r"(--mount=(?:[^\s,]*,)*from=){}(?=[,\s]|$)",
}


def is_remote(source: str) -> bool:
    """Whether an ``ADD`` source is fetched by the build: a URL with a host, or a git address."""
    return bool(_URL_RE.fullmatch(source) or _SCP_GIT_RE.fullmatch(source))


@dataclass(frozen=True)
class Stage:
    """One ``FROM`` line: its name, and either an earlier stage or an image (or ``scratch``)."""

    index: int
    line: int
    name: str | None
    parent_stage: int | None
    base: BaseImage | None  # None for `scratch` and for `FROM <stage>`


@dataclass(frozen=True)
class BuildBases:
    """What a build of one Dockerfile (up to ``target``) pulls."""

    stages: tuple[Stage, ...]
    target: int
    images: tuple[BaseImage, ...]  # every external image of stages 0..target, first use first
    remote_sources: tuple[RemoteSource, ...] = ()  # every remote ADD source of stages 0..target, in order

    @property
    def final_base(self) -> BaseImage | None:
        """The image the target stage is built on, following ``FROM <stage>`` (OCI ``base.name``)."""
        stage = self.stages[self.target]
        while stage.parent_stage is not None:
            stage = self.stages[stage.parent_stage]
        return stage.base


def build_bases(
    text: str, build_args: Mapping[str, str] | None = None, *, target: str | None = None, path: str = "Dockerfile"
) -> BuildBases:
    """The external images a build of ``text`` with ``build_args`` pulls, up to stage ``target``.

    Kaniko builds every stage up to the target (it skips unused stages only with
    ``--skip-unused-stages``), so all of them count.

    :param text: the Dockerfile.
    :param build_args: the build's ``--build-arg`` values.
    :param target: the stage to build (default: the last).
    :param path: how to name the file in errors.
    """
    walk = _Walk(dict(build_args or {}), _escape_char(text), path)
    for command in _parse(text, path):
        walk.step(command)
    if not walk.stages:
        raise DockerfileError(path, None, "has no FROM instruction")
    target_index = walk.target_index(target)
    images: list[BaseImage | None] = []
    for stage in walk.stages[: target_index + 1]:
        if stage.base is not None:
            images.append(stage.base)
        images += [walk.copied_image(stage, line, written) for index, line, written in walk.copies if index == stage.index]
    return BuildBases(
        stages=tuple(walk.stages),
        target=target_index,
        images=tuple(i for i in images if i is not None),
        remote_sources=tuple(r for index, r in walk.remote if index <= target_index),
    )


def _parse(text: str, path: str) -> Any:
    import dockerfile

    try:
        return dockerfile.parse_string(text)
    except dockerfile.GoParseError as err:
        raise DockerfileError(path, None, f"cannot be parsed: {err}") from None


@dataclass
class _Walk:
    """The Dockerfile read instruction by instruction: global ARGs, stages, and ``--from`` images."""

    build_args: dict[str, str]
    escape: str
    path: str
    global_args: dict[str, str] = field(default_factory=dict)
    stages: list[Stage] = field(default_factory=list)
    stage_names: dict[str, int] = field(default_factory=dict)
    copies: list[tuple[int, int, str]] = field(default_factory=list)  # (stage, line, written)
    remote: list[tuple[int, RemoteSource]] = field(default_factory=list)  # (stage, source)
    stage_envs: list[dict[str, str]] = field(default_factory=list)  # each stage's ENVs, for a later FROM <stage>
    stage_args: dict[str, str | None] = field(default_factory=dict)  # the current stage's ARGs (None: no value)

    def step(self, command: Any) -> None:
        cmd = command.cmd.upper()
        if cmd == "ARG" and not self.stages:
            for item in command.value:
                self._global_arg(item, command.start_line)
        elif cmd == "FROM":
            stage = _stage(command, len(self.stages), self.stage_names, self.global_args, self.escape, self.path)
            self.stages.append(stage)
            inherited = self.stage_envs[stage.parent_stage] if stage.parent_stage is not None else {}
            self.stage_envs.append(dict(inherited))
            self.stage_args = {}
            if stage.name:
                self.stage_names[stage.name] = stage.index
        elif cmd == "ARG":
            for item in command.value:
                self._stage_arg(item, command.start_line)
        elif cmd == "ENV" and self.stages:
            pairs = list(command.value)
            for name, value in zip(pairs[::2], pairs[1::2], strict=False):
                expanded = self._expand_in_stage(_unquote(value), command.start_line)
                if expanded is None:  # unknown here, so is every word that uses it
                    self.stage_envs[-1].pop(name, None)
                    self.stage_args.pop(name, None)
                else:
                    self.stage_envs[-1][name] = expanded
        if cmd in ("COPY", "ADD", "RUN") and self.stages:
            written_flags = (_from_flag(flag) for flag in command.flags)
            self.copies += [(len(self.stages) - 1, command.start_line, w) for w in written_flags if w is not None]
        if cmd == "ADD" and self.stages and not command.heredocs:
            for written in command.value[:-1]:  # the last word is the destination
                self._add_source(written, command.start_line)

    def _stage_arg(self, item: str, line: int) -> None:
        """``ARG NAME[=default]`` inside a stage: a build arg, else the default, else a global ARG's value."""
        name, sep, default = item.partition("=")
        if name in self.build_args:
            self.stage_args[name] = self.build_args[name]
        elif sep:
            expanded = self._expand_in_stage(_unquote(default), line)
            if expanded is None:  # unknown here, so is every word that uses it
                self.stage_args.pop(name, None)
            else:
                self.stage_args[name] = expanded
        else:
            self.stage_args[name] = self.global_args.get(name)

    def _stage_env(self) -> dict[str, str | None]:
        return {**self.stage_args, **self.stage_envs[-1]}

    def _expand_in_stage(self, word: str, line: int) -> str | None:
        """``word`` with the stage's ARGs and ENVs; ``None`` if it uses another variable or cannot be expanded."""
        env = self._stage_env()
        if any(name not in env for name in _args_of(word)):
            return None  # the base image's ENV, which only the build sees
        try:
            return _expand(word, {k: v for k, v in env.items() if v is not None}, self.escape, self.path, line)
        except DockerfileError:
            return None

    def _add_source(self, written: str, line: int) -> None:
        source = self._expand_in_stage(written, line)
        if source is None or is_remote(source):
            self.remote.append((len(self.stages) - 1, RemoteSource(line, written, source)))

    def _global_arg(self, item: str, line: int) -> None:
        """``ARG NAME[=default]`` before the first FROM: a build arg wins over the default."""
        name, sep, default = item.partition("=")
        if name in self.build_args:
            self.global_args[name] = self.build_args[name]
        elif sep:
            self.global_args[name] = _expand(_unquote(default), self.global_args, self.escape, self.path, line)
        else:
            self.global_args.pop(name, None)

    def target_index(self, target: str | None) -> int:
        if target is None:
            return len(self.stages) - 1
        if target.lower() not in self.stage_names:
            names = ", ".join(sorted(self.stage_names)) or "none"
            raise DockerfileError(self.path, None, f"has no stage named {target!r} (target); its stages: {names}")
        return self.stage_names[target.lower()]

    def copied_image(self, stage: Stage, line: int, written: str) -> BaseImage | None:
        """The image a ``--from`` of ``stage`` pulls; None when it names a stage (or scratch)."""
        key = written.lower()
        if key in self.stage_names or key == "scratch" or (written.isdigit() and int(written) < stage.index):
            return None
        reference = _expand(written, self.global_args, self.escape, self.path, line)
        _check_reference(reference, written, self.path, line)
        return BaseImage(line=line, written=written, reference=reference, args=_args_of(written), stage=None)


def _stage(
    command: Any, index: int, stage_names: Mapping[str, int], global_args: Mapping[str, str], escape: str, path: str
) -> Stage:
    line = command.start_line
    value = list(command.value)
    name = None
    if len(value) == 3 and value[1].lower() == "as":
        name = value[2].lower()
    elif len(value) != 1:
        raise DockerfileError(path, line, f"FROM takes one image and an optional 'AS name', not {command.original!r}")
    written = value[0]
    reference = _expand(written, global_args, escape, path, line)
    if reference.lower() in stage_names:
        return Stage(index=index, line=line, name=name, parent_stage=stage_names[reference.lower()], base=None)
    if reference.lower() == "scratch":
        return Stage(index=index, line=line, name=name, parent_stage=None, base=None)
    _check_reference(reference, written, path, line)
    return Stage(
        index=index, line=line, name=name, parent_stage=None, base=BaseImage(line, written, reference, _args_of(written), index)
    )


def _check_reference(reference: str, written: str, path: str, line: int) -> None:
    if not reference:
        names = _args_of(written)
        why = f"ARG {', '.join(names)} has no default and no build arg" if names else "it is empty"
        raise DockerfileError(path, line, f"base image {written!r} expands to an empty reference: {why}")
    if not is_reference(reference):
        raise DockerfileError(path, line, f"base image {written!r} expands to {reference!r}, which is not an image reference")


def _expand(word: str, env: Mapping[str, str], escape: str, path: str, line: int) -> str:
    from expandvars import ExpandvarsException, expand

    if "$$" in word:  # expandvars would put its own PID there; Docker keeps it literal
        raise DockerfileError(path, line, f"{word!r}: '$$' is not supported in a base image reference")
    if _FOREIGN_FORM_RE.search(word):
        raise DockerfileError(
            path, line, f"{word!r}: only $V, ${{V}}, ${{V:-x}}, ${{V-x}}, ${{V:+x}}, ${{V+x}} and ${{V:?}} are supported"
        )
    for name in _NO_COLON_RE.findall(word):
        if env.get(name) == "":
            raise DockerfileError(path, line, f"{word!r}: ARG {name} is set but empty; use ${{{name}:-…}} or ${{{name}:+…}} here")
    try:
        return expand(word, environ=dict(env), nounset=False, escape_char=escape)
    except ExpandvarsException as err:
        raise DockerfileError(path, line, f"{word!r}: {err}") from None


def _args_of(word: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m[1] or m[2] for m in _VAR_RE.finditer(word)))


def _from_flag(flag: str) -> str | None:
    """The image of ``COPY --from=x`` or ``RUN --mount=...,from=x``; ``None`` otherwise."""
    if flag.startswith("--from="):
        return flag[len("--from=") :]
    if flag.startswith("--mount="):
        for part in flag[len("--mount=") :].split(","):
            key, _, value = part.partition("=")
            if key == "from":
                return value
    return None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _escape_char(text: str) -> str:
    """The ``# escape=`` parser directive, if the file starts with one."""
    for line in text.splitlines():
        match = _ESCAPE_DIRECTIVE_RE.match(line.strip())
        if match:
            return match[1]
        if not line.strip().startswith("#"):
            break
    return "\\"
