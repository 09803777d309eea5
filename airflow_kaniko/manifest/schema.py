"""JSON Schema of the image manifest (see docs/manifest.md).

``registry_cleanup`` (manifest-wide): what a maintenance run deletes of the tags it pushes for itself
(``maintenance.retention``). Absent or ``true``: keep the newest 3 stamped ``fp-<hex>-<time>`` tags per
image and delete a multi-arch image's staging tags once its index is pushed; ``{keep_stamped_tags: N}``:
keep N (1 to 1000); ``false``: delete nothing. A tag the manifest names is never deleted.
"""

from __future__ import annotations

_STRING_MAP = {"type": "object", "additionalProperties": {"type": ["string", "number"]}}
_RESOURCE_MAP = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "requests": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
        "limits": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
    },
}

# Fields an image may set and the defaults block may give it.
_INHERITABLE = {
    "dockerfile": {"type": "string", "minLength": 1},
    "tags": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
    "build_args": _STRING_MAP,
    "labels": _STRING_MAP,
    "target": {"type": "string", "minLength": 1},
    "cache": {"type": "boolean"},
    "cache_repo": {"type": "string", "minLength": 1},
    "cache_ttl": {"type": "string", "minLength": 1},
    "resources": _RESOURCE_MAP,
    "extra_args": {"type": "array", "items": {"type": "string"}},
    # Change-aware maintenance: rebuild when the last build is older than this ("7d", "12h").
    "max_age": {"type": "string", "minLength": 1},
    # A multi-arch image: one build per platform ("linux/arm64"), then one OCI image index.
    "platforms": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
    # With platforms: schedule each platform's pod on nodes of its architecture (kubernetes.io/arch).
    "platform_node_selector": {"type": "boolean"},
}

MANIFEST_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["images"],
    "properties": {
        "version": {"const": 1},
        "registry": {"type": "string", "minLength": 1},
        # Registry host -> Airflow Connection (conn type docker) whose credentials push there.
        "registry_connections": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
        "max_parallel": {"type": "integer", "minimum": 1, "maximum": 256},
        # true/absent: the defaults; false: off; or the settings (properties apply to a mapping only).
        "registry_cleanup": {
            "type": ["boolean", "object"],
            "additionalProperties": False,
            "properties": {"keep_stamped_tags": {"type": "integer", "minimum": 1, "maximum": 1000}},
        },
        "registry_mirrors": {"type": "array", "items": {"type": "string"}},
        "registry_ca": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"config_map": {"type": "string"}, "secret": {"type": "string"}, "key": {"type": "string"}},
            "oneOf": [{"required": ["config_map"]}, {"required": ["secret"]}],
        },
        "defaults": {"type": "object", "additionalProperties": False, "properties": _INHERITABLE},
        "images": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "context", "repository"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "context": {"type": "string", "minLength": 1},
                    "repository": {"type": "string", "minLength": 1},
                    **_INHERITABLE,
                },
            },
        },
    },
}
