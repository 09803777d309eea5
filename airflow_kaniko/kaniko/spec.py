"""A typed, self-validating description of one Kaniko build, and its executor argv."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from urllib.parse import urlsplit

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.oci import reference
from airflow_kaniko.oci.platforms import Platform, parse_platform

#: Where a packed local context is mounted in the executor container.
LOCAL_CONTEXT_DIR = "/workspace"
LOCAL_CONTEXT_ARCHIVE = f"{LOCAL_CONTEXT_DIR}/context.tar.gz"
#: The container's termination message; Kaniko writes the bare digest there.
TERMINATION_LOG = "/dev/termination-log"

REMOTE_SCHEMES = ("dir", "git", "s3", "gs", "https", "tar")
# Kaniko only accepts https:// contexts that are Azure Blob Storage URLs.
_AZURE_BLOB_SUFFIXES = (
    ".blob.core.windows.net",
    ".blob.core.chinacloudapi.cn",
    ".blob.core.usgovcloudapi.net",
    ".blob.core.cloudapi.de",
)

# Flags with a parameter of their own, or that the result parsing depends on.
OWNED_FLAGS = frozenset(
    {
        "bucket",  # a hidden flag that replaces the context
        "build-arg",
        "cleanup",
        "context",
        "custom-platform",
        "destination",
        "digest-file",
        "dockerfile",
        "image-name-tag-with-digest-file",
        "image-name-with-digest-file",
        "insecure-registry",
        "kaniko-dir",
        "label",
        "log-format",
        "no-push",
        "registry-certificate",
        "tar-path",
        "target",
    }
)


@dataclass(frozen=True)
class UnsafeFlag:
    """An executor flag refused in ``extra_args``: what it defeats, and what to use instead.

    :param harm: what the flag does, e.g. ``defeats TLS verification``.
    :param instead: the safe way to get what it was for.
    :param unsafe: which values are refused (``None``: the bare flag); every value unless given.
    """

    harm: str
    instead: str
    unsafe: Callable[[str | None], bool] = lambda value: True


# Go's strconv.ParseBool spellings of false: Kaniko reads --git values with it.
_GO_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})


def _git_skips_tls(value: str | None) -> bool:
    # Kaniko's KanikoGitOptions.Set (pkg/config/options.go, chainguard v1.25.6) takes one
    # key=value per --git, the value cut at the first '='. Anything but a false insecure-skip-tls is refused.
    # A bare --git takes the next item as its value, and every item starts with '--', so it sets no known key.
    key, _, setting = (value or "").partition("=")
    return key == "insecure-skip-tls" and setting not in _GO_FALSE


_TLS_OR_PULLS = "defeats TLS verification or redirects image pulls"
# Flags that defeat TLS or send pulls to another registry: credentials could travel in clear, or to a
# host nobody approved, around insecure_registries and registry_ca. A pull-through mirror is registry_mirrors.
UNSAFE_FLAGS: Mapping[str, UnsafeFlag] = MappingProxyType(
    {
        "insecure": UnsafeFlag(_TLS_OR_PULLS, "use the insecure_registries parameter"),
        "insecure-pull": UnsafeFlag(_TLS_OR_PULLS, "use the insecure_registries parameter"),
        "skip-tls-verify": UnsafeFlag(_TLS_OR_PULLS, "use the registry_ca parameter"),
        "skip-tls-verify-pull": UnsafeFlag(_TLS_OR_PULLS, "use the registry_ca parameter"),
        "skip-tls-verify-registry": UnsafeFlag(_TLS_OR_PULLS, "use the registry_ca parameter"),
        "registry-mirror": UnsafeFlag(_TLS_OR_PULLS, "use the registry_mirrors parameter"),
        "registry-map": UnsafeFlag(_TLS_OR_PULLS, "use the registry_mirrors parameter"),
        # A git:// clone carries GIT_PASSWORD / GIT_TOKEN; branch=, single-branch= and recurse-submodules= stay allowed.
        "git": UnsafeFlag(
            "insecure-skip-tls defeats TLS verification of the git clone, which carries the git credentials",
            "serve the repository over https with a certificate the executor trusts",
            _git_skips_tls,
        ),
    }
)
# Retries of the executor's registry traffic unless extra_args sets them: a dropped connection
# during a push or pull then costs seconds (backoff 1 s, 2 s, 4 s), not a whole rebuild by a task retry.
DEFAULT_RETRY_FLAGS = {"push-retry": "3", "image-download-retry": "3"}
# Flags that take a path inside the context; they must not climb out of it.
CONTEXT_PATH_FLAGS = frozenset({"context-sub-path"})

_NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?")
_BUILD_ARG_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LABEL_KEY_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,253}[A-Za-z0-9])?")
_TARGET_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_EXTRA_ARG_RE = re.compile(r"--(?P<flag>[a-z][a-z0-9-]*)(?:=(?P<value>.*))?", re.DOTALL)
_GO_DURATION_RE = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# An RFC 3986 scheme followed by '//'.
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class RegistryCertificate:
    """A CA bundle, at ``path`` inside the executor container, for ``registry``."""

    registry: str
    path: str


@dataclass(frozen=True, init=False)
class KanikoBuild:
    """One image build.

    Construction validates every field and raises :class:`KanikoSpecError`
    naming the field and the value; a built instance is always renderable.

    :param context: the build context: a ``dir://``, ``git://``, ``s3://``, ``gs://``,
        Azure blob ``https://`` or ``tar://`` URL, or a local directory that the caller
        packs and mounts at :data:`LOCAL_CONTEXT_ARCHIVE`.
    :param destinations: one or more image references to push, tags kept.
    :param dockerfile: path of the Dockerfile, relative to the context.
    :param build_args: ``--build-arg`` values.
    :param target: the multi-stage target.
    :param labels: image labels (``--label``).
    :param cache: use Kaniko's layer cache.
    :param cache_repo: repository for cached layers; requires ``cache``.
    :param cache_ttl: cache lifetime as a Go duration (``168h``) or a timedelta.
    :param insecure_registries: registries reached over plain HTTP.
    :param registry_certificates: CA bundles for registries with a private CA.
    :param registry_mirrors: pull-through mirrors for Docker Hub (``--registry-mirror``), registry hosts.
    :param extra_args: any other executor flag, ``--flag`` or ``--flag=value``.
    :param name: a short name for logs, labels and results.
    :param platform: build for this platform, ``os/arch[/variant]`` (``--custom-platform``); ``None``: the node's.
    """

    context: str
    destinations: tuple[str, ...]
    dockerfile: str = "Dockerfile"
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    cache: bool = False
    cache_repo: str | None = None
    cache_ttl: str | None = None
    insecure_registries: tuple[str, ...] = ()
    registry_certificates: tuple[RegistryCertificate, ...] = ()
    registry_mirrors: tuple[str, ...] = ()
    extra_args: tuple[str, ...] = ()
    name: str | None = None
    platform: Platform | None = None

    # Values come from templates and manifests, so the constructor takes anything and turns it into the typed fields.
    def __init__(
        self,
        context: object,
        destinations: object,
        dockerfile: object = "Dockerfile",
        build_args: object = None,
        target: object = None,
        labels: object = None,
        cache: object = False,
        cache_repo: object = None,
        cache_ttl: object = None,
        insecure_registries: object = (),
        registry_certificates: object = (),
        registry_mirrors: object = (),
        extra_args: object = (),
        name: object = None,
        platform: object = None,
    ) -> None:
        _set = object.__setattr__
        _set(self, "context", _check_context(context))
        _set(self, "destinations", _check_destinations(destinations))
        _set(self, "dockerfile", _check_dockerfile(dockerfile))
        _set(self, "build_args", _check_mapping("build_args", build_args, _BUILD_ARG_KEY_RE))
        _set(self, "labels", _check_mapping("labels", labels, _LABEL_KEY_RE))
        if target is not None and not (isinstance(target, str) and _TARGET_RE.fullmatch(target)):
            raise KanikoSpecError("target", target, "must be a stage name such as 'runtime'")
        _set(self, "target", target)
        if not isinstance(cache, bool):
            raise KanikoSpecError("cache", cache, "must be true or false")
        _set(self, "cache", cache)
        if cache_repo is not None:
            if not isinstance(cache_repo, str) or not reference.is_repository(cache_repo):
                raise KanikoSpecError("cache_repo", cache_repo, "must be a repository name without tag or digest")
            if not cache:
                raise KanikoSpecError("cache_repo", cache_repo, "is set but cache is false; set cache=True")
        _set(self, "cache_repo", cache_repo)
        ttl = _check_cache_ttl(cache_ttl)
        if ttl is not None and not cache:
            raise KanikoSpecError("cache_ttl", ttl, "is set but cache is false; set cache=True")
        _set(self, "cache_ttl", ttl)
        _set(self, "insecure_registries", _check_registries("insecure_registries", insecure_registries))
        _set(self, "registry_certificates", _check_certificates(registry_certificates))
        _set(self, "registry_mirrors", _check_registries("registry_mirrors", registry_mirrors))
        _set(self, "extra_args", _check_extra_args(extra_args))
        if name is not None and not (isinstance(name, str) and _NAME_RE.fullmatch(name)):
            raise KanikoSpecError(
                "name", name, "must be 1-63 lowercase letters, digits, '.', '_' or '-', starting and ending alphanumeric"
            )
        _set(self, "name", name)
        _set(self, "platform", None if platform is None else parse_platform(platform))

    @property
    def is_local_context(self) -> bool:
        """Whether the context is a local directory the caller must pack."""
        return _scheme(self.context) is None

    def executor_context(self, local_archive: str = LOCAL_CONTEXT_ARCHIVE) -> str:
        """The ``--context`` value; a local context is read from its packed archive."""
        return f"tar://{local_archive}" if self.is_local_context else self.context

    def args(self, *, digest_file: str = TERMINATION_LOG, local_archive: str = LOCAL_CONTEXT_ARCHIVE) -> list[str]:
        """The executor's argv (without the executable), one flag per item, values never split."""
        args = [
            f"--context={self.executor_context(local_archive)}",
            f"--dockerfile={self.dockerfile}",
            *(f"--destination={d}" for d in self.destinations),
            f"--digest-file={digest_file}",
            # Plain text keeps ANSI colour codes out of the failure message.
            "--log-format=text",
        ]
        args += [f"--build-arg={k}={v}" for k, v in self.build_args.items()]
        args += [f"--label={k}={v}" for k, v in self.labels.items()]
        if self.target:
            args.append(f"--target={self.target}")
        if self.cache:
            args.append("--cache=true")
        if self.cache_repo:
            args.append(f"--cache-repo={self.cache_repo}")
        if self.cache_ttl:
            args.append(f"--cache-ttl={self.cache_ttl}")
        args += [f"--insecure-registry={r}" for r in self.insecure_registries]
        args += [f"--registry-certificate={c.registry}={c.path}" for c in self.registry_certificates]
        args += [f"--registry-mirror={m}" for m in self.registry_mirrors]
        if self.platform:
            args.append(f"--custom-platform={self.platform}")
        given = {_EXTRA_ARG_RE.fullmatch(a)["flag"] for a in self.extra_args}  # type: ignore[index]
        args += [f"--{flag}={n}" for flag, n in DEFAULT_RETRY_FLAGS.items() if flag not in given]
        args += list(self.extra_args)
        return args

    def images(self, digest: str) -> list[str]:
        """``<destination>@<digest>`` for every destination, tags kept."""
        return [f"{d}@{digest}" for d in self.destinations]


def _scheme(context: str) -> str | None:
    scheme, sep, _ = context.partition("://")
    return scheme if sep else None


def _check_context(context: object) -> str:
    if not isinstance(context, str) or not context.strip():
        raise KanikoSpecError("context", context, "must be a non-empty string")
    if _CONTROL_RE.search(context):
        raise KanikoSpecError("context", context, "must not contain control characters")
    scheme = _scheme(context)
    if scheme is None:
        if "://" in context or ":" in context.split("/", 1)[0]:
            raise KanikoSpecError("context", context, "is neither a local directory nor a URL")
        return context
    if scheme not in REMOTE_SCHEMES:
        raise KanikoSpecError(
            "context",
            context,
            f"unknown scheme {scheme + '://'!r}; use one of {', '.join(s + '://' for s in REMOTE_SCHEMES)} or a local directory",
        )
    rest = context[len(scheme) + 3 :]
    if not rest:
        raise KanikoSpecError("context", context, f"{scheme}:// needs a location after the scheme")
    if scheme in ("dir", "tar") and not rest.startswith("/"):
        raise KanikoSpecError("context", context, f"{scheme}:// needs an absolute path inside the executor container")
    if scheme in ("git", "s3", "gs", "https"):
        host = urlsplit(context).hostname
        if not host:
            raise KanikoSpecError("context", context, f"{scheme}:// needs a host or bucket")
        if scheme == "https" and not host.endswith(_AZURE_BLOB_SUFFIXES):
            raise KanikoSpecError(
                "context", context, "https:// contexts must be Azure Blob Storage URLs (*.blob.core.windows.net)"
            )
    if scheme == "git" and context.count("#") > 2:
        raise KanikoSpecError("context", context, "git:// takes at most '#<ref>#<commit>'")
    return context


def _check_destinations(destinations: object) -> tuple[str, ...]:
    if isinstance(destinations, str):
        destinations = (destinations,)
    if not isinstance(destinations, Iterable) or isinstance(destinations, Mapping):
        raise KanikoSpecError("destinations", destinations, "must be a list of image references")
    result = tuple(destinations)
    if not result:
        raise KanikoSpecError("destinations", destinations, "needs at least one image reference")
    for dest in result:
        if not isinstance(dest, str) or not reference.is_reference(dest):
            raise KanikoSpecError(
                "destinations", dest, "is not a valid image reference such as 'registry.example.com/team/app:1.0'"
            )
        if reference.has_digest(dest):
            raise KanikoSpecError("destinations", dest, "must be a tag, not a digest; the digest is what the build produces")
    if len(set(result)) != len(result):
        raise KanikoSpecError("destinations", list(result), "lists the same destination twice")
    return result


def _check_dockerfile(dockerfile: object) -> str:
    if not isinstance(dockerfile, str) or not dockerfile.strip() or _CONTROL_RE.search(dockerfile):
        raise KanikoSpecError("dockerfile", dockerfile, "must be a non-empty path")
    # Kaniko (v1.25.6, pkg/dockerfile) fetches an http(s):// Dockerfile over the network (plain HTTP too) and builds it with the
    # credentials mounted; any other scheme would be a file name nobody meant. Refused whatever the context.
    if _URL_RE.match(dockerfile):
        raise KanikoSpecError("dockerfile", dockerfile, "must be a path relative to the context, not a URL")
    _check_inside_context("dockerfile", dockerfile, dockerfile)
    return dockerfile


def _check_inside_context(field: str, value: str, path: str) -> None:
    # Kaniko opens an absolute --dockerfile as is, whatever the context, e.g. the mounted config.json.
    if path.startswith("/") or ".." in path.split("/"):
        raise KanikoSpecError(field, value, "must be a relative path inside the context, without '..'")


def _check_mapping(name: str, mapping: object, key_re: re.Pattern[str]) -> Mapping[str, str]:
    if mapping is None:
        return MappingProxyType({})
    if not isinstance(mapping, Mapping):
        raise KanikoSpecError(name, mapping, "must be a mapping of names to strings")
    checked: dict[str, str] = {}
    for key, value in mapping.items():
        if not isinstance(key, str) or not key_re.fullmatch(key):
            raise KanikoSpecError(f"{name} key", key, f"is not a valid name (pattern {key_re.pattern})")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise KanikoSpecError(f"{name}[{key}]", value, "must be a string or a number")
        value = str(value)
        if "\x00" in value:
            raise KanikoSpecError(f"{name}[{key}]", value, "must not contain a NUL byte")
        checked[key] = value
    return MappingProxyType(checked)


def _check_cache_ttl(ttl: object) -> str | None:
    if ttl is None:
        return None
    if isinstance(ttl, timedelta):
        seconds = int(ttl.total_seconds())
        if seconds <= 0:
            raise KanikoSpecError("cache_ttl", ttl, "must be positive")
        return f"{seconds}s"
    if not isinstance(ttl, str) or not _GO_DURATION_RE.fullmatch(ttl):
        raise KanikoSpecError("cache_ttl", ttl, "must be a duration such as '168h' or '30m'")
    return ttl


def _check_registries(name: str, registries: object) -> tuple[str, ...]:
    if isinstance(registries, str):
        registries = (registries,)
    if not isinstance(registries, Iterable):
        raise KanikoSpecError(name, registries, "must be a list of registry hosts")
    result = tuple(registries)
    for registry in result:
        if not isinstance(registry, str) or not reference.is_registry(registry):
            raise KanikoSpecError(name, registry, "is not a registry host such as 'registry.example.com:5000'")
    return result


def _check_certificates(certificates: object) -> tuple[RegistryCertificate, ...]:
    if isinstance(certificates, (str, bytes, Mapping)) or not isinstance(certificates, Iterable):
        raise KanikoSpecError("registry_certificates", certificates, "must be a list of RegistryCertificate items")
    result: list[RegistryCertificate] = []
    for cert in certificates:
        if not isinstance(cert, RegistryCertificate):
            raise KanikoSpecError("registry_certificates", cert, "must be RegistryCertificate items")
        result.append(cert)
        if not reference.is_registry(cert.registry):
            raise KanikoSpecError(
                "registry_ca.registry", cert.registry, "is not a registry host such as 'registry.example.com:5000'"
            )
        if not cert.path.startswith("/") or _CONTROL_RE.search(cert.path) or "=" in cert.path:
            raise KanikoSpecError("registry_ca.path", cert.path, "must be an absolute path without '='")
    return tuple(result)


def _check_extra_args(extra_args: object) -> tuple[str, ...]:
    if isinstance(extra_args, str):
        raise KanikoSpecError("extra_args", extra_args, "must be a list of '--flag' or '--flag=value' items, not one string")
    if not isinstance(extra_args, Iterable):
        raise KanikoSpecError("extra_args", extra_args, "must be a list of '--flag' or '--flag=value' items")
    result = tuple(extra_args)
    for arg in result:
        match = _EXTRA_ARG_RE.fullmatch(arg) if isinstance(arg, str) else None
        if not match:
            raise KanikoSpecError("extra_args", arg, "each item must be '--flag' or '--flag=value'")
        if match["value"] is not None and _CONTROL_RE.search(match["value"]):
            raise KanikoSpecError("extra_args", arg, "values must not contain newlines or control characters")
        flag = match["flag"]
        unsafe = UNSAFE_FLAGS.get(flag)
        if unsafe is not None and unsafe.unsafe(match["value"]):
            raise KanikoSpecError("extra_args", arg, f"--{flag} {unsafe.harm}; {unsafe.instead}")
        if flag == "cache" or flag.startswith("cache-"):
            raise KanikoSpecError(
                "extra_args", arg, "the layer cache is set by the operator's cache, cache_repo and cache_ttl parameters"
            )
        if flag in OWNED_FLAGS:
            raise KanikoSpecError("extra_args", arg, f"--{flag} is set by the operator; use its own parameter")
        if flag in CONTEXT_PATH_FLAGS:
            if not match["value"]:
                raise KanikoSpecError("extra_args", arg, f"--{flag} needs '=<relative path>'")
            _check_inside_context("extra_args", arg, match["value"])
    return result
