"""`make wheel-smoke`: the installed wheel, not the checkout, works as a provider.

Run by the Python of a venv that holds the wheel and its runtime dependencies only (see the Makefile), from a
directory outside the checkout, so nothing can be imported from the source tree by accident.
Usage: wheel_smoke.py <wheel> <example DAG file>   (the sdist is looked for beside the wheel)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from importlib.metadata import distribution
from pathlib import Path

from packaging.requirements import Requirement

DIST = "airflow-provider-kaniko"
LICENSE = Path(__file__).resolve().parents[1] / "LICENSE"
# The only published extra; the contributors' tools are dependency groups, which a wheel does not carry.
EXTRAS = ["openlineage"]
# The `test` and `dev` dependency groups of pyproject.toml, by import name.
TEST_AND_DEV_MODULES = {"pytest", "_pytest", "kubernetes_validate", "build", "twine", "ruff", "mypy"}


def check(ok: bool, what: str, detail: object = "") -> None:
    print(f"wheel-smoke: {'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail != "" else ""))
    if not ok:
        sys.exit(1)


def run(*args: str) -> str:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True).stdout


def check_license(wheel: Path, version: str) -> None:
    """The Apache License ships in both archives, byte for byte the checkout's, and the metadata names it."""
    text = LICENSE.read_bytes()
    dist_info = f"airflow_provider_kaniko-{version}.dist-info"
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        in_wheel = f"{dist_info}/licenses/LICENSE"
        check(in_wheel in names and whl.read(in_wheel) == text, f"the wheel ships LICENSE ({in_wheel})")
        metadata = whl.read(f"{dist_info}/METADATA").decode()
    headers = [line for line in metadata.splitlines() if line.startswith(("License-Expression:", "License-File:"))]
    expected = ["License-Expression: Apache-2.0", "License-File: LICENSE"]
    check(headers == expected, "the wheel's METADATA names the license", headers)
    sdist = wheel.with_name(f"airflow_provider_kaniko-{version}.tar.gz")
    with tarfile.open(sdist) as tar:
        member = tar.extractfile(f"airflow_provider_kaniko-{version}/LICENSE")
        check(member is not None and member.read() == text, f"the sdist ships LICENSE ({sdist.name})")


def main(wheel: Path, dag_file: Path) -> None:
    version = wheel.name.split("-")[1]
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    check_license(wheel, version)

    probe = (
        "import sys, json, airflow_kaniko; print(json.dumps({'file': airflow_kaniko.__file__, 'version': "
        "airflow_kaniko.__version__, 'modules': sorted(sys.modules)}))"
    )
    imported = json.loads(run("-c", probe).strip().splitlines()[-1])
    package_dir = Path(imported["file"]).resolve().parent
    check(package_dir.parent == site, "airflow_kaniko is imported from the installed wheel", package_dir)
    check(imported["version"] == version, "airflow_kaniko.__version__ is the wheel's version", imported["version"])
    check((package_dir / "py.typed").is_file(), "the package ships py.typed")

    pulled = sorted({m.split(".")[0] for m in imported["modules"]} & TEST_AND_DEV_MODULES)
    check(pulled == [], "import airflow_kaniko pulls in no test or dev dependency", pulled or "")
    runtime = [Requirement(r) for r in distribution(DIST).requires or []]
    runtime = [r.name for r in runtime if r.marker is None or "extra" not in str(r.marker)]
    leaked = sorted(set(runtime) & {"pytest", "kubernetes-validate", "build", "twine", "ruff", "mypy"})
    check(leaked == [], "no test or dev package among the wheel's runtime requirements", leaked or "")
    extras = distribution(DIST).metadata.get_all("Provides-Extra") or []
    check(extras == EXTRAS, f"the wheel publishes only the extras {EXTRAS}", extras)

    providers = json.loads(run("-m", "airflow", "providers", "list", "-o", "json"))
    ours = [p for p in providers if p.get("package_name") == DIST]
    check(len(ours) == 1 and ours[0].get("version") == version, f"airflow providers list shows {DIST} {version}", ours)
    hooks = json.loads(run("-m", "airflow", "providers", "hooks", "-o", "json"))
    ours = [h for h in hooks if h.get("package_name") == DIST]
    expected = [
        {
            "connection_type": "oci_registry",
            "class": "airflow_kaniko.hooks.registry.RegistryHook",
            "conn_id_attribute_name": "registry_conn_id",
            "package_name": DIST,
            "hook_name": "OCI registry (Kaniko)",
        }
    ]
    check(ours == expected, "airflow providers hooks shows the oci_registry connection type and its hook", ours)

    parse = (
        "import json, sys; from airflow.dag_processing.dagbag import DagBag; "
        "bag = DagBag(sys.argv[1]); "
        "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()}, 'dags': sorted(bag.dags)}))"
    )
    parsed = json.loads(run("-c", parse, str(dag_file)).strip().splitlines()[-1])
    check(
        parsed["errors"] == {} and parsed["dags"] == ["kaniko_image_maintenance"],
        f"the example DAG imports without errors ({dag_file.name})",
        parsed,
    )


if __name__ == "__main__":
    wheel_path, dag_path = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    home = tempfile.mkdtemp(prefix="airflow-kaniko-wheel-smoke-")
    os.environ.update(AIRFLOW_HOME=home, AIRFLOW__CORE__LOAD_EXAMPLES="False")
    os.environ.pop("PYTHONPATH", None)
    os.chdir(home)
    main(wheel_path, dag_path)
