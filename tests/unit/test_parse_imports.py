"""The import graph of parsing the example DAGs: nothing heavy beyond what a one-task KubernetesPodOperator DAG imports.

Parse time is a budget (at most 50 ms over that baseline; `make bench` measures it). This pins the cause
instead of a time: a fresh interpreter parses the baseline DAG, then the example DAG, and reports which
modules the second one added.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

BASELINE_DAG = ROOT / "dev" / "parse_dags" / "one_task_kpo.py"
EXAMPLE_DAG = ROOT / "dags" / "kaniko_image_maintenance.py"
CONSUMER_DAG = ROOT / "dags" / "kaniko_image_consumer.py"  # builds an oci:// Asset at parse: our URI handler runs

# Our modules that parsing the example DAGs may load: the operators and what they are made of (the pure Kaniko
# and OCI layers, the pod spec, the trigger they defer with, whose upstream KPO imports anyway, the extra link,
# the lineage and Asset glue, which import their registry and OpenLineage code when called), and the manifest
# loader (with its error and YAML reader) for read_max_parallel, and the [kaniko] section's reader.
# Not the planner, the task bodies, the hooks or the registry client: those run inside tasks.
ALLOWED_AT_PARSE = {
    "airflow_kaniko",
    "airflow_kaniko.errors",
    "airflow_kaniko.results",
    "airflow_kaniko.config",  # the operators read the [kaniko] section's defaults when constructed
    "airflow_kaniko.compat",
    "airflow_kaniko.compat.kpo",
    "airflow_kaniko.compat.task_sdk",
    "airflow_kaniko.manifest",
    "airflow_kaniko.manifest.loader",
    "airflow_kaniko.manifest.errors",
    "airflow_kaniko.manifest.yaml_reader",
}
ALLOWED_PACKAGES_AT_PARSE = (
    "airflow_kaniko.kaniko",
    "airflow_kaniko.operators",
    "airflow_kaniko.triggers",
    "airflow_kaniko.utils",
    "airflow_kaniko.links",
    "airflow_kaniko.openlineage",
    "airflow_kaniko.assets",
)
NOT_AT_PARSE = ("airflow_kaniko.oci.registry_client", "airflow_kaniko.oci.index_push")
# Needed only while a task runs: validating a manifest, packing a context, talking to a registry, parsing a
# Dockerfile, emitting lineage.
HEAVY = ["jsonschema", "airflow_kaniko.manifest.schema", "docker", "dxf", "oras", "dockerfile_parse", "dockerfile", "openlineage"]

PROBE = """
import importlib.util, json, sys

def parse(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))

parse(sys.argv[1], "baseline_dag")
before = set(sys.modules)
parse(sys.argv[2], "example_dag")
print(json.dumps({"baseline": sorted(before), "added": sorted(set(sys.modules) - before)}))
"""


@pytest.fixture(scope="module", params=[EXAMPLE_DAG, CONSUMER_DAG], ids=lambda p: p.stem)
def modules(request):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout, whichever one the shared venv points at
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(BASELINE_DAG), str(request.param)], capture_output=True, text=True, env=env, check=True
    )
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "dag": request.param}


def _package(name):
    return name.split(".")[0]


def test_the_example_dag_adds_no_third_party_package(modules):
    new_packages = {_package(m) for m in modules["added"]} - {_package(m) for m in modules["baseline"]}
    assert new_packages - set(sys.stdlib_module_names) == set()


def test_the_example_dag_loads_only_the_operator_side_of_this_package(modules):
    ours = {m for m in modules["added"] + modules["baseline"] if _package(m) == "airflow_kaniko"}
    unexpected = {
        m
        for m in ours - ALLOWED_AT_PARSE
        if (m.rsplit(".", 1)[0] not in ALLOWED_PACKAGES_AT_PARSE and m not in ALLOWED_PACKAGES_AT_PARSE)
        and not (m == "airflow_kaniko.oci" or (m.startswith("airflow_kaniko.oci.") and m not in NOT_AT_PARSE))
    }
    assert unexpected == set()
    parsed = "airflow_kaniko.assets.events" if modules["dag"] == CONSUMER_DAG else "airflow_kaniko.operators.kaniko"
    assert parsed in ours  # the probe really parsed the DAG


@pytest.mark.parametrize("heavy", HEAVY)
def test_heavy_modules_wait_for_the_task(modules, heavy):
    newly = [m for m in modules["added"] if m == heavy or m.startswith(heavy + ".")]
    assert newly == [], f"parsing the example DAG imports {newly[0]}; import it inside the code path that needs it"
    if heavy != "jsonschema":  # Airflow's providers manager may import jsonschema itself; the others nothing else loads
        assert not any(m == heavy or m.startswith(heavy + ".") for m in modules["baseline"])
