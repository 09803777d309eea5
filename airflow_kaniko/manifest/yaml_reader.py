"""Read a manifest file into YAML nodes (they carry the line numbers) and the values built from them, within bounds.

Everything here is cheap on hostile input: the bytes read, the nesting, the nodes that aliases stand for
and the key types are bounded or checked before a value is built.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from airflow_kaniko.manifest.errors import ManifestError

# Bounds on what a manifest costs to read: its size, and its size once YAML aliases are expanded. A manifest
# of 1024 images (Airflow's default core.max_map_length) is a few hundred KiB and some 50,000 nodes.
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_MANIFEST_NODES = 200_000
# A manifest nests six levels deep at most: the document, images, an entry, resources, requests, a value.
MAX_NESTING = 32
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def read_bounded(path: Path) -> bytes:
    """The file's bytes, never more than MAX_MANIFEST_BYTES of them read."""
    try:
        with path.open("rb") as fh:
            text = fh.read(MAX_MANIFEST_BYTES + 1)
    except OSError as err:
        raise ManifestError(path, f"cannot be read: {err.strerror or err}") from None
    if len(text) > MAX_MANIFEST_BYTES:
        raise ManifestError(path, f"is over {MAX_MANIFEST_BYTES} bytes; split its images over several manifests")
    return text


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__(mark)
        self.mark = mark


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing collections nested deeper than MAX_NESTING.

    Its scanner's work grows with the square of the flow nesting (2,000 '[' took 5 s), and its
    composer recurses once per level.
    """

    def __init__(self, stream: bytes) -> None:
        super().__init__(stream)
        self._depth = 0

    def fetch_flow_collection_start(self, TokenClass: type[yaml.Token]) -> None:  # noqa: N803 (PyYAML's name)
        if self.flow_level >= MAX_NESTING:
            raise _TooDeep(self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self._depth >= MAX_NESTING:
            raise _TooDeep(self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def parse(path: Path, text: bytes) -> tuple[yaml.Node, Any]:
    """The node tree (it has the line numbers) and the values built from it, in one pass."""
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ManifestError(path, "is empty; it needs an 'images' list")
        _check_node_graph(path, root)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise ManifestError(
            path, f"is not valid YAML: {err.problem or err.context}", line=mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as err:
        raise ManifestError(path, f"is not valid YAML: {err}") from None
    except _TooDeep as err:
        raise ManifestError(path, f"nests collections deeper than {MAX_NESTING} levels", line=err.mark.line + 1) from None
    finally:
        loader.dispose()
    _reject_duplicate_keys(path, root)
    return root, data


def _check_node_graph(path: Path, root: yaml.Node) -> None:
    """Refuse, before a value is built from them, nodes that would be costly or wrong to build.

    An alias shares its anchor's node, so a few hundred bytes can stand for billions of values (an alias
    bomb, or a merge-key one: ``<<`` copies its mappings' pairs), and an alias inside its own anchor for
    endless ones. Each node's expanded size is computed once, from its children's. Keys must be strings:
    the schema, the error locations and the key sorts all assume them.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def expanded(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_nodes:
            raise ManifestError(path, "an alias refers to a collection that contains it", line=line_of(node))
        open_nodes.add(id(node))
        size = 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                _check_key(path, key_node)
                size += expanded(key_node) + expanded(value_node)
        elif isinstance(node, yaml.SequenceNode):
            size += sum(expanded(item) for item in node.value)
        open_nodes.discard(id(node))
        if size > MAX_MANIFEST_NODES:
            raise ManifestError(
                path,
                f"stands for more than {MAX_MANIFEST_NODES} YAML nodes once its aliases are expanded; "
                "write the values out or share them through 'defaults'",
                line=line_of(node),
            )
        sizes[id(node)] = size
        return size

    expanded(root)


def _check_key(path: Path, key_node: yaml.Node) -> None:
    if key_node.tag in (_STR_TAG, _MERGE_TAG):
        return
    kind = key_node.tag.rsplit(":", 1)[-1]
    if isinstance(key_node, yaml.ScalarNode):
        reason = f"key {key_node.value} is read as a YAML {kind}, not a string; quote it if it is meant as one"
    else:
        reason = f"a key must be a string, not a YAML {kind}"
    raise ManifestError(path, reason, line=line_of(key_node))


def _reject_duplicate_keys(path: Path, root: yaml.Node) -> None:
    # Aliased nodes are shared: each is checked once (the document's first duplicate is reported).
    checked: set[int] = set()

    def check(node: yaml.Node) -> None:
        if id(node) in checked:
            return
        checked.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                if key_node.value in keys:
                    raise ManifestError(path, f"key {key_node.value!r} appears twice in one mapping", line=line_of(key_node))
                keys.add(key_node.value)
                check(value_node)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                check(item)

    check(root)


def node_at(node: yaml.Node, location: Iterable[Any], *, key: bool = False) -> yaml.Node:
    """The deepest YAML node along ``location`` (the key node itself when ``key``)."""
    for step in location:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == step), None)
            if match is None:
                return node
            node = match[0] if key else match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            return node
    return node


def line_of(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None
