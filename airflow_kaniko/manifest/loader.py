"""Load an image manifest (YAML) into one ``KanikoBuildOperator`` kwargs dict per image.

Every error names the file, the entry and the field, with the line where YAML
gives one. The format is documented in docs/manifest.md.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko.local_paths import confine
from airflow_kaniko.kaniko.spec import KanikoBuild
from airflow_kaniko.manifest.errors import ManifestError
from airflow_kaniko.manifest.yaml_reader import line_of, node_at, parse, read_bounded
from airflow_kaniko.oci import reference

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

DEFAULT_MAX_PARALLEL = 4
DEFAULT_TAGS = ("{date}", "latest")
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
# Spec fields whose manifest key differs.
_SPEC_FIELD_TO_KEY = {"destinations": "repository"}
_STANDARD_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
# An extended resource: a domain-prefixed qualified name, e.g. nvidia.com/gpu.
_EXTENDED_RESOURCE_RE = re.compile(r"[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?/[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")


@dataclass(frozen=True)
class LoadedManifest:
    """A validated image manifest: the builds to run and how many may run at once."""

    path: Path
    max_parallel: int
    builds: list[dict[str, Any]]
    #: image name -> its ``max_age`` ("7d"), for the images that set one (or inherit it).
    max_age: dict[str, str] = field(default_factory=dict)
    #: ``registry_cleanup`` as the plan carries it (``RegistryCleanup.to_dict()``); ``None``: off.
    registry_cleanup: dict[str, int] | None = field(default_factory=lambda: _registry_cleanup(True))

    @property
    def names(self) -> list[str]:
        return [b["image_name"] for b in self.builds]


def load_manifest(
    path: str | Path,
    *,
    build_date: datetime,
    registry: str | Callable[[], str] | None = None,
    registry_conn_id: str | None = None,
    only: Iterable[str] | None = None,
    max_images: int = 1024,
    allowed_roots: Iterable[str | Path] | None = None,
) -> LoadedManifest:
    """Read, validate and resolve a manifest.

    :param path: the YAML file.
    :param build_date: the date that ``{date}`` and ``{datetime}`` tags take (the run's logical date).
    :param registry: the registry host for destinations, used when the manifest names none; a callable
        is called only then, so a manifest that names its registry needs no connection to be read.
    :param registry_conn_id: the connection for registries that ``registry_connections`` does not name.
    :param only: build just these image names (all when empty).
    :param max_images: the most builds allowed (Airflow's ``core.max_map_length``).
    :param allowed_roots: directories the manifest file and its local contexts must resolve into
        (symlinks and ``..`` resolved), e.g. the DAG folder when a param names the manifest.
        Default: the manifest is not checked, and its contexts must lie in its own folder.
    """
    path = Path(path)
    context_roots = _context_roots(path, allowed_roots)
    root, data = parse(path, read_bounded(path))
    _validate_schema(path, root, data)
    registry = data.get("registry") or (registry() if callable(registry) else registry)
    _check_registry_settings(path, root, data)
    builds, max_age = _resolve_images(path, root, data, registry, registry_conn_id, build_date, context_roots)
    builds = _select(path, builds, only)
    _check_map_length(path, root, builds, max_images)
    names = {b["image_name"] for b in builds}
    return LoadedManifest(
        path=path,
        max_parallel=data.get("max_parallel", DEFAULT_MAX_PARALLEL),
        builds=builds,
        max_age={n: a for n, a in max_age.items() if n in names},
        registry_cleanup=_registry_cleanup(data.get("registry_cleanup")),
    )


def _registry_cleanup(value: object) -> dict[str, int] | None:
    """The schema-checked ``registry_cleanup``, as the plan carries it."""
    from airflow_kaniko.maintenance.retention import RegistryCleanup

    setting = RegistryCleanup.from_manifest(value)
    return setting.to_dict() if setting else None


def _context_roots(path: Path, allowed_roots: Iterable[str | Path] | None) -> list[str | Path]:
    """Where local contexts may lie; the manifest itself must lie there too when the caller names roots."""
    if allowed_roots is None:
        return [path.parent]
    roots = list(allowed_roots)
    try:
        confine("manifest", path, roots)
    except KanikoSpecError as err:
        raise ManifestError(path, err.reason) from None
    return roots


def _check_registry_settings(path: Path, root: yaml.Node, data: Mapping[str, Any]) -> None:
    """The manifest-wide registry CA and mirrors, checked once for every image."""
    if "registry_ca" in data:
        from airflow_kaniko.kaniko.registry_ca import RegistryCA

        try:
            RegistryCA.parse_all({"registry": "", **data["registry_ca"]})
        except KanikoSpecError as err:
            raise ManifestError(
                path, f"{err.value!r} {err.reason}", line=line_of(node_at(root, ["registry_ca"])), where="registry_ca"
            ) from None
    for mirror in data.get("registry_mirrors", []):
        if not reference.is_registry(mirror):
            node = node_at(root, ["registry_mirrors"])
            raise ManifestError(
                path,
                f"{mirror!r} is not a registry host such as 'mirror.example.com:5000'",
                line=line_of(node),
                where="registry_mirrors",
            )


def _resolve_images(
    path: Path,
    root: yaml.Node,
    data: Mapping[str, Any],
    registry: str | None,
    registry_conn_id: str | None,
    build_date: datetime,
    context_roots: Sequence[str | Path],
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every image's operator kwargs, in manifest order, and the ``max_age`` of those that have one.

    Names and destinations must be unique across the manifest.
    """
    defaults = data.get("defaults") or {}
    connections = data.get("registry_connections") or {}
    builds: list[dict[str, Any]] = []
    seen_names: dict[str, int] = {}
    seen_destinations: dict[str, int] = {}
    max_age: dict[str, str] = {}
    for index, entry in enumerate(data["images"]):
        where = f"images[{index}] ({entry['name']})"
        node = node_at(root, ["images", index])
        if entry["name"] in seen_names:
            first = seen_names[entry["name"]]
            reason = f"duplicate image name {entry['name']!r}, first used by images[{first}]"
            raise ManifestError(path, reason, line=line_of(node_at(node, ["name"])), where=where)
        seen_names[entry["name"]] = index
        merged = {**defaults, **entry}
        for key in ("build_args", "labels"):  # maps merge key by key
            merged[key] = {**defaults.get(key, {}), **entry.get(key, {})}
        kwargs = _resolve(path, node, where, merged, registry, build_date, data.get("registry_mirrors", []), context_roots)
        host = kwargs["destinations"][0].split("/", 1)[0]
        if "max_age" in merged:
            _check_max_age(path, node, root, where, merged["max_age"], "max_age" in entry)
            max_age[entry["name"]] = merged["max_age"]
        if "registry_ca" in data:
            kwargs["registry_ca"] = {"registry": host, **data["registry_ca"]}
        # Each image gets the credentials of the registry it pushes to, and no other.
        kwargs["registry_conn_id"] = connections.get(host, registry_conn_id) or None
        for dest in kwargs["destinations"]:
            if dest in seen_destinations:
                reason = f"destination {dest!r} is also pushed by images[{seen_destinations[dest]}]"
                raise ManifestError(path, reason, line=line_of(node_at(node, ["repository"])), where=where)
            seen_destinations[dest] = index
        builds.append(kwargs)
    return builds, max_age


def _select(path: Path, builds: list[dict[str, Any]], only: Iterable[str] | None) -> list[dict[str, Any]]:
    """The builds named in ``only`` (all of them when it names none); an unknown name is an error."""
    wanted = [n for n in (only or []) if n]
    if not wanted:
        return builds
    names = [b["image_name"] for b in builds]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise ManifestError(path, f"no image named {', '.join(map(repr, unknown))}; the manifest has {', '.join(names)}")
    return [b for b in builds if b["image_name"] in wanted]


def _check_map_length(path: Path, root: yaml.Node, builds: list[dict[str, Any]], max_images: int) -> None:
    # A multi-arch image is one mapped build per platform.
    count = sum(len(b.get("platforms") or [None]) for b in builds)
    if count > max_images:
        what = f"{count} builds ({len(builds)} images, one per platform)" if count > len(builds) else f"{count} images"
        raise ManifestError(
            path,
            f"{what} exceed Airflow's core.max_map_length={max_images}; raise it "
            "(AIRFLOW__CORE__MAX_MAP_LENGTH) or split the images over several manifests",
            line=line_of(node_at(root, ["images"])),
        )


def _check_max_age(path: Path, node: yaml.Node, root: yaml.Node, where: str, value: str, own: bool) -> None:
    from airflow_kaniko.maintenance.decisions import parse_max_age

    try:
        parse_max_age(value)
    except KanikoSpecError as err:
        line = line_of(node_at(node, ["max_age"]) if own else node_at(root, ["defaults", "max_age"]))
        raise ManifestError(
            path, f"{value!r} {err.reason}", line=line, where=f"{where} field 'max_age'" if own else "defaults field 'max_age'"
        ) from None


@functools.cache
def _validator() -> Draft202012Validator:
    # Imported here, not at module level: the DAG file imports this module at parse time (read_max_parallel).
    from jsonschema import Draft202012Validator

    from airflow_kaniko.manifest.schema import MANIFEST_SCHEMA

    return Draft202012Validator(MANIFEST_SCHEMA)


def _validate_schema(path: Path, root: yaml.Node, data: object) -> None:
    if not isinstance(data, Mapping):
        raise ManifestError(path, f"must be a mapping with an 'images' list, not {type(data).__name__}", line=line_of(root))
    errors = sorted(_validator().iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    if not errors:
        return
    error = errors[0]
    location = list(error.absolute_path)
    node = node_at(root, location)
    reason = error.message
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - allowed)
        node = node_at(node, unknown[:1], key=True)
        reason = f"unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(allowed))}"
    elif error.validator == "type" and location == ["images"]:
        reason = f"'images' must be a list of images, not {type(error.instance).__name__}"
    raise ManifestError(path, reason, line=line_of(node), where=_describe(data, location))


def _describe(data: Mapping[str, Any], location: list[Any]) -> str | None:
    if not location:
        return None
    if location[0] == "images" and len(location) > 1 and isinstance(location[1], int):
        entry = data["images"][location[1]]
        name = entry.get("name") if isinstance(entry, Mapping) else None
        where = f"images[{location[1]}]" + (f" ({name})" if isinstance(name, str) else "")
        rest = location[2:]
    else:
        where, rest = str(location[0]), location[1:]
    return where + (f" field {'.'.join(map(str, rest))!r}" if rest else "")


def _resolve(
    path: Path,
    node: yaml.Node,
    where: str,
    image: dict[str, Any],
    registry: str | None,
    build_date: datetime,
    registry_mirrors: list[str],
    context_roots: Sequence[str | Path],
) -> dict[str, Any]:
    """Turn one merged manifest entry into operator kwargs, validated by the build spec and checked on disk."""
    repository = image["repository"]
    if "/" in repository and _looks_like_registry(repository.split("/", 1)[0]):
        full_repository = repository
    elif registry:
        full_repository = f"{registry}/{repository}"
    else:
        raise ManifestError(
            path,
            "no registry: set 'registry' in the manifest or pass the registry connection",
            line=line_of(node_at(node, ["repository"])),
            where=where,
        )

    values = {
        "date": build_date.strftime("%Y%m%d"),
        "datetime": build_date.strftime("%Y%m%dT%H%M%S"),
        "registry": full_repository.split("/", 1)[0],
    }
    tags = [_render_tag(path, node, where, t, image, values) for t in image.get("tags", DEFAULT_TAGS)]
    context = image["context"]
    if "://" not in context:
        context = str((path.parent / context).resolve())
    kwargs: dict[str, Any] = {
        "image_name": image["name"],
        "context": context,
        "dockerfile": image.get("dockerfile", "Dockerfile"),
        "destinations": [f"{full_repository}:{tag}" for tag in dict.fromkeys(tags)],
        # {registry}, {date} and {datetime} are replaced in build args; other braces stay as written.
        "build_args": {k: _PLACEHOLDER_RE.sub(lambda m: values.get(m[1], m[0]), str(v)) for k, v in image["build_args"].items()},
        "image_labels": {k: str(v) for k, v in image["labels"].items()},
    }
    for key in ("target", "cache", "cache_repo", "cache_ttl", "extra_args"):
        if key in image:
            kwargs[key] = image[key]
    if registry_mirrors:
        kwargs["registry_mirrors"] = list(registry_mirrors)
    if "platforms" in image:
        from airflow_kaniko.oci.platforms import parse_platforms

        try:
            kwargs["platforms"] = [str(p) for p in parse_platforms(image["platforms"])]
        except KanikoSpecError as err:
            raise ManifestError(
                path,
                f"{err.value!r} {err.reason}",
                line=line_of(node_at(node, ["platforms"])),
                where=f"{where} field 'platforms'",
            ) from None
    if "platform_node_selector" in image:
        kwargs["platform_node_selector"] = image["platform_node_selector"]
    if "resources" in image:
        kwargs["container_resources"] = {k: {rk: str(rv) for rk, rv in v.items()} for k, v in image["resources"].items()}
        problem = _resources_problem(kwargs["container_resources"])
        if problem:
            raise ManifestError(path, problem, line=line_of(node_at(node, ["resources"])), where=f"{where} field 'resources'")
    try:
        KanikoBuild(
            name=kwargs["image_name"],
            context=kwargs["context"],
            dockerfile=kwargs["dockerfile"],
            destinations=kwargs["destinations"],
            build_args=kwargs["build_args"],
            labels=kwargs["image_labels"],
            target=kwargs.get("target"),
            cache=kwargs.get("cache", False),
            cache_repo=kwargs.get("cache_repo"),
            cache_ttl=kwargs.get("cache_ttl"),
            extra_args=kwargs.get("extra_args", ()),
            registry_mirrors=registry_mirrors,
        )
        if "://" not in image["context"]:
            _check_local_context(Path(kwargs["context"]), image["context"], kwargs["dockerfile"], context_roots)
    except KanikoSpecError as err:
        key = _SPEC_FIELD_TO_KEY.get(err.field, err.field.split(" ")[0].split("[")[0])
        raise ManifestError(
            path, f"{err.value!r} {err.reason}", line=line_of(node_at(node, [key])), where=f"{where} field {key!r}"
        ) from None
    return kwargs


def _check_local_context(directory: Path, written: str, dockerfile: str, roots: Sequence[str | Path]) -> None:
    """What the build task would trip over, found before any pod: a context out of bounds, missing, or without its Dockerfile."""
    try:
        confine("context", directory, roots)
    except KanikoSpecError as err:
        raise KanikoSpecError("context", written, err.reason) from None
    if not directory.is_dir():
        raise KanikoSpecError("context", written, f"resolves to {str(directory)!r}, which is not a directory")
    if not (directory / dockerfile).is_file():
        raise KanikoSpecError("dockerfile", dockerfile, f"does not exist in the context {str(directory)!r}")


def _resources_problem(resources: Mapping[str, Mapping[str, str]]) -> str | None:
    """Why Kubernetes would refuse these requests and limits, or None."""
    from kubernetes.utils.quantity import parse_quantity  # the client's own parser; imported here, not at DAG parse

    parsed: dict[tuple[str, str], tuple[str, Any]] = {}
    for kind, values in resources.items():
        for name, text in (values or {}).items():
            if (
                name not in _STANDARD_RESOURCES
                and not name.startswith("hugepages-")
                and not _EXTENDED_RESOURCE_RE.fullmatch(name)
            ):
                return (
                    f"{kind} {name!r} is not a resource name; use cpu, memory, ephemeral-storage, hugepages-<size> or "
                    f"a domain-prefixed name such as nvidia.com/gpu"
                )
            try:
                # Decimal, under the parser, also takes spaces, '_', NaN and Infinity; the API server does not.
                if text != text.strip() or "_" in text:
                    raise ValueError(text)
                value = parse_quantity(text)
                if not value.is_finite():
                    raise ValueError(text)
            except (ValueError, ArithmeticError):
                return f"{kind}.{name} {text!r} is not a Kubernetes quantity such as 500m, 1.5 or 2Gi"
            if value < 0:
                return f"{kind}.{name} {text!r} must not be negative"
            parsed[kind, name] = (text, value)
    for (kind, name), (text, value) in parsed.items():
        limit = parsed.get(("limits", name))
        if kind == "requests" and limit and value > limit[1]:
            return f"requests.{name} {text!r} is more than limits.{name} {limit[0]!r}"
    return None


def _render_tag(
    path: Path, node: yaml.Node, where: str, template: str, image: Mapping[str, Any], values: Mapping[str, str]
) -> str:
    def value(match: re.Match[str]) -> str:
        key = match[1]
        if key in ("date", "datetime"):
            return values[key]
        if key == "git_ref":
            parts = image["context"].split("#")
            if not image["context"].startswith("git://") or len(parts) < 2 or not parts[1]:
                raise ManifestError(
                    path,
                    "tag '{git_ref}' needs a git:// context with '#<ref>'",
                    line=line_of(node_at(node, ["tags"])),
                    where=f"{where} field 'tags'",
                )
            return (parts[2] if len(parts) > 2 and parts[2] else parts[1].rsplit("/", 1)[-1])[:128]
        raise ManifestError(
            path,
            f"unknown tag placeholder {{{key}}}; use {{date}}, {{datetime}} or {{git_ref}}",
            line=line_of(node_at(node, ["tags"])),
            where=f"{where} field 'tags'",
        )

    return _PLACEHOLDER_RE.sub(value, template)


def _looks_like_registry(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


def throttle_warning(manifest: LoadedManifest, in_force: int | None) -> str | None:
    """Airflow fixes the build task's concurrency when it parses the DAG: say so when this run asks for another."""
    if in_force is None or manifest.max_parallel == in_force:
        return None
    return (
        f"{manifest.path} asks for max_parallel={manifest.max_parallel}, but this run builds at most {in_force} at once: "
        "Airflow fixed the limit when it parsed the DAG, from the DAG's default manifest. "
        "Change that manifest's max_parallel, or use an Airflow pool, to change it."
    )


def read_max_parallel(path: str | Path, default: int = DEFAULT_MAX_PARALLEL) -> int:
    """The manifest's ``max_parallel``, for DAG-parse time: never raises, falls back to ``default``."""
    path = Path(path)
    try:
        _, data = parse(path, read_bounded(path))
    except ManifestError:
        return default
    value = data.get("max_parallel", default) if isinstance(data, Mapping) else default
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 256 else default
