"""Where a pushed image can be seen in a browser: built-in registry UIs, or a URL template.

A template comes from a registry connection's extra, so it is checked like any other input: only
the placeholders below, no attribute access or format specs, and it must render an http(s) URL whose
host is fixed by the template, with no userinfo (``https://robot:pw@…`` is refused without being
echoed: a link is shown to everyone who can see the task). Every value is URL-quoted, so a reference
cannot add to the URL's structure.
"""

from __future__ import annotations

import re
from string import Formatter
from urllib.parse import quote, urlsplit

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.oci.reference import DOCKER_HUB, DOCKER_HUB_ALIASES, ImageReference, parse_reference

# placeholder -> characters left unquoted in its value
PLACEHOLDERS: dict[str, str] = {
    "registry": ":[]",  # host[:port], e.g. harbor.example.com
    "repository": "/",  # the path after the registry, e.g. team/app
    "namespace": "",  # its first component, e.g. team (a Harbor project)
    "name": "/",  # the rest, e.g. app
    "tag": "",  # the first destination's tag ("" when it has none)
    "digest": ":",  # sha256:…
}
BUILTIN_REGISTRIES = ("ghcr.io", DOCKER_HUB, "quay.io")
TEMPLATE_MAX_LENGTH = 2048
# RFC 3986 characters, minus the quote and the braces (those are placeholders); no spaces or controls.
_LITERAL_RE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]*")
_AUTHORITY_RE = re.compile(r"https?://(?:[^/{}?#]+|\{registry\})(?:[/?#]|$)")
# What a browser takes for the authority: after an optional scheme and any slashes, up to "/", "?" or "#".
_AUTHORITY_PART_RE = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*:)?/*([^/?#]*)")


def check_template(template: object, field: str = "image_url_template") -> str:
    """The template, if it is one; else KanikoSpecError naming the field and the value."""
    if not isinstance(template, str) or not template:
        raise KanikoSpecError(field, template, "must be a non-empty string such as 'https://harbor.example.com/…/{digest}'")
    if "@" in _AUTHORITY_PART_RE.match(template)[1]:  # type: ignore[index]  # the pattern matches every string
        # Checked first and never echoed: the part before '@' is a login, often with its password.
        raise KanikoSpecError(field, "<redacted: has userinfo>", "must not hold userinfo (user:password@) in its host")
    if len(template) > TEMPLATE_MAX_LENGTH:
        raise KanikoSpecError(field, template[:80] + "…", f"is longer than {TEMPLATE_MAX_LENGTH} characters")
    if not _AUTHORITY_RE.match(template):
        raise KanikoSpecError(field, template, "must start with https:// or http:// and a host (or {registry})")
    try:
        parts = list(Formatter().parse(template))
    except ValueError as err:
        raise KanikoSpecError(field, template, f"is not a valid template: {err}") from None
    for literal, placeholder, spec, conversion in parts:
        if not _LITERAL_RE.fullmatch(literal):
            raise KanikoSpecError(field, template, "may contain only URL characters (no spaces, quotes, '<', '>', '\\')")
        if placeholder is None:
            continue
        if placeholder not in PLACEHOLDERS or spec or conversion:
            allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise KanikoSpecError(
                field,
                template,
                f"uses {{{placeholder}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}; allowed: {allowed}",
            )
    return template


def render_template(template: str, ref: ImageReference) -> str:
    """The template filled with the reference's URL-quoted parts."""
    check_template(template)
    namespace, _, name = ref.repository.partition("/")
    values = {
        "registry": ref.registry,
        "repository": ref.repository,
        "namespace": namespace if name else "",
        "name": name or namespace,
    }
    values |= {"tag": ref.tag or "", "digest": ref.digest or ""}
    url = template.format(**{key: quote(value, safe=PLACEHOLDERS[key]) for key, value in values.items()})
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise KanikoSpecError("image_url_template", template, f"renders {url!r}, not an http(s) URL")
    return url


def builtin_url(ref: ImageReference) -> str:
    """The page of the image in ghcr.io's, Docker Hub's or Quay's UI; "" for other registries."""
    parts = ref.repository.split("/")
    if ref.registry == "ghcr.io":
        # GitHub sends a browser from ghcr.io/<owner>/<package> to the package page; versions have numeric ids.
        return f"https://ghcr.io/{quote(ref.repository, safe='/')}"
    if ref.registry == DOCKER_HUB and len(parts) == 2:
        namespace, name = (quote(p, safe="") for p in parts)
        if ref.tag and ref.digest:
            tag, digest = quote(ref.tag, safe=""), quote(ref.digest.replace(":", "-", 1), safe="")
            return f"https://hub.docker.com/layers/{namespace}/{name}/{tag}/images/{digest}"
        return f"https://hub.docker.com/_/{name}" if namespace == "library" else f"https://hub.docker.com/r/{namespace}/{name}"
    if ref.registry == "quay.io" and len(parts) == 2:
        repository = quote(ref.repository, safe="/")
        if ref.digest:
            return f"https://quay.io/repository/{repository}/manifest/{quote(ref.digest, safe=':')}"
        return f"https://quay.io/repository/{repository}?tab=tags"
    return ""


def same_registry(host: str, registry: str) -> bool:
    """Whether a connection's host (``host[:port]`` or a URL) names ``registry``."""
    netloc = urlsplit(host).netloc if "://" in host else host.strip().rstrip("/")
    if netloc in DOCKER_HUB_ALIASES or host.strip() == "https://index.docker.io/v1/":
        netloc = DOCKER_HUB
    return netloc.lower() == registry.lower()


def image_url(image: str, template: str | None = None, template_host: str | None = None) -> str:
    """The UI page of ``image``: the template when it is given for this image's registry, else a
    built-in page, else "" (no link rather than a dead one)."""
    try:
        ref = parse_reference(image)
    except ValueError:
        return ""
    if template and (template_host is None or same_registry(template_host, ref.registry)):
        return render_template(template, ref)
    return builtin_url(ref)
