"""Images built on other images of the same manifest: who is whose parent, and in which order to build.

An image is a parent of another when one of the child's base references (after
ARG substitution) is one of the parent's destinations, compared in normal form
(``repo`` is ``repo:latest``). Builds run level by level: level 0 has no parent
in the manifest, level n has its deepest parent at level n-1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from airflow_kaniko.errors import KanikoError
from airflow_kaniko.oci.reference import normalize

#: How many levels the example DAG has build stages for (a parent, a child, a grandchild, ...).
MAX_DEPTH = 4


class GraphError(KanikoError, ValueError):
    """The images cannot be ordered: a cycle, or more levels than there are build stages."""


def find_parents(bases: Mapping[str, Iterable[str]], destinations: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """For each image, the images of the manifest it is built on, in manifest order.

    :param bases: image name -> the references its build pulls.
    :param destinations: image name -> the references it pushes.
    """
    producer: dict[str, str] = {}
    for name, refs in destinations.items():
        for ref in refs:
            producer[normalize(ref)] = name
    parents: dict[str, tuple[str, ...]] = {}
    for name, refs in bases.items():
        found = [producer[key] for key in map(normalize, refs) if key in producer]
        # An image built on its own destination stays its own parent: levels() reports the cycle.
        parents[name] = tuple(dict.fromkeys(found))
    return parents


def levels(parents: Mapping[str, Sequence[str]], *, max_depth: int = MAX_DEPTH) -> list[list[str]]:
    """The images grouped by level, each level in the order of ``parents``.

    Raises :class:`GraphError` naming the cycle (``a -> b -> a``), or the chain that is
    deeper than ``max_depth``.
    """
    order = list(parents)
    level: dict[str, int] = {}
    visiting: list[str] = []

    def visit(name: str) -> int:
        if name in level:
            return level[name]
        if name in visiting:
            cycle = visiting[visiting.index(name) :] + [name]
            raise GraphError(f"images are built on each other in a cycle: {' -> '.join(cycle)} (each is built FROM the next)")
        visiting.append(name)
        depth = 1 + max((visit(p) for p in parents.get(name, ())), default=-1)
        visiting.pop()
        level[name] = depth
        return depth

    for name in order:
        visit(name)
    deepest = max(level.values(), default=-1)
    if deepest >= max_depth:
        chain = [max(level, key=lambda n: (level[n], -order.index(n)))]
        while parents.get(chain[-1]):
            chain.append(max(parents[chain[-1]], key=lambda n: level[n]))
        raise GraphError(
            f"{' <- '.join(chain)} is {deepest + 1} levels deep; the maintenance DAG builds at most {max_depth} "
            "levels of images built on each other (graph.MAX_DEPTH)"
        )
    return [[n for n in order if level[n] == depth] for depth in range(deepest + 1)]
