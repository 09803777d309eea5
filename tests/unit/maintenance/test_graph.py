import pytest

from airflow_kaniko.maintenance.graph import MAX_DEPTH, GraphError, find_parents, levels

R = "reg.io:5000"


def test_parents_are_found_by_destination_in_normal_form():
    parents = find_parents(
        {
            "base": [f"{R}/lib/busybox:latest"],
            "etl": [f"{R}/data/etl-base"],
            "job": [f"{R}/data/etl-base:20261130", "python:3.12"],
        },
        {"base": [], "etl-base": [f"{R}/data/etl-base:20261130", f"{R}/data/etl-base:latest"], "etl": [], "job": []},
    )
    assert parents == {"base": (), "etl": ("etl-base",), "job": ("etl-base",)}


def test_levels_parents_first_in_manifest_order():
    parents = {"app": ("base",), "base": (), "tool": (), "cli": ("app", "tool"), "web": ("base",)}
    assert levels(parents) == [["base", "tool"], ["app", "web"], ["cli"]]


def test_a_cycle_is_an_error_naming_it():
    with pytest.raises(GraphError, match=r"cycle: a -> c -> b -> a \(each is built FROM the next\)"):
        levels({"a": ("c",), "b": ("a",), "c": ("b",)})
    with pytest.raises(GraphError, match=r"cycle: self -> self"):
        levels({"self": ("self",)})


def test_depth_beyond_the_limit_is_a_clear_error():
    chain = {f"i{n}": ((f"i{n - 1}",) if n else ()) for n in range(MAX_DEPTH + 1)}
    with pytest.raises(
        GraphError,
        match=rf"i{MAX_DEPTH} <- .* <- i0 is {MAX_DEPTH + 1} levels deep; the maintenance DAG builds at most {MAX_DEPTH}",
    ):
        levels(chain)
    del chain[f"i{MAX_DEPTH}"]
    assert len(levels(chain)) == MAX_DEPTH


def test_empty():
    assert levels({}) == []
