"""Issue 8, items 5 and 6: local contexts stay inside the roots the DAG author allowed (default: the DAG's folder)."""

import os
import shutil

import jinja2
import pytest

from airflow.sdk import DAG
from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.operators.kaniko import KanikoBuildOperator
from airflow_kaniko.operators.multi_build import KanikoMultiBuildOperator
from tests.conftest import ROOT
from tests.unit.operators.fake_kube import FakeCoreV1

REG = "10.244.77.1:5000"


@pytest.fixture
def dag_folder(tmp_path):
    """A DAG folder with one image, and a directory beside it that must stay out of reach."""
    dags = tmp_path / "dags"
    shutil.copytree(ROOT / "dags" / "images" / "hello", dags / "images" / "hello")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "private" / "id_rsa").write_text("secret key\n")
    return dags


def in_dag(dags, factory, **kwargs):
    with DAG("roots", schedule=None) as dag:
        op = factory(task_id="build", namespace="kaniko-builds", **kwargs)
    dag.fileloc = str(dags / "roots_dag.py")
    return op


def single(dags, context, **kwargs):
    return in_dag(dags, KanikoBuildOperator, context=context, destinations=[f"{REG}/demo/hello:1"], **kwargs)


def refused(op, field="context"):
    fake = FakeCoreV1()
    op.__dict__["client"] = fake
    with pytest.raises(KanikoSpecError) as info:
        op.build_pod_request_obj(dry_run=True)
    assert fake.calls == []
    assert info.value.field == field
    return info.value


def test_relative_context_inside_the_dag_folder_builds(dag_folder):
    op = single(dag_folder, "images/hello")
    assert op.build_specs()[0].context == str(dag_folder / "images" / "hello")
    assert op.build_pod_request_obj(dry_run=True).spec.containers[0].args[0] == "--context=tar:///workspace/context.tar.gz"


@pytest.mark.parametrize("context", ["../private", "images/../../private", "../../../../../../etc", "/etc", "{root}/private"])
def test_context_outside_the_dag_folder_refused_naming_path_and_roots(dag_folder, context):
    context = context.format(root=dag_folder.parent)
    error = refused(single(dag_folder, context))
    assert error.value == context
    assert "outside the allowed roots" in error.reason and str(dag_folder) in error.reason


def test_templated_context_from_a_param_is_confined(dag_folder):
    op = single(dag_folder, "{{ params.ctx }}")
    op.render_template_fields({"params": {"ctx": str(dag_folder.parent / "private")}}, jinja_env=jinja2.Environment())
    error = refused(op)
    assert error.value == str(dag_folder.parent / "private")


def test_symlink_out_of_the_dag_folder_refused(dag_folder):
    os.symlink(dag_folder.parent / "private", dag_folder / "images" / "innocent")
    refused(single(dag_folder, "images/innocent"))


def test_context_roots_are_the_dag_authors_not_a_template(dag_folder):
    assert "context_roots" not in KanikoBuildOperator.template_fields
    assert "context_roots" not in KanikoMultiBuildOperator.template_fields
    op = single(
        dag_folder, str(dag_folder.parent / "private"), context_roots=[str(dag_folder), str(dag_folder.parent / "private")]
    )
    assert op.build_specs()[0].context == str(dag_folder.parent / "private")
    # Roots replace the default: the DAG folder itself is no longer allowed unless listed.
    refused(single(dag_folder, "images/hello", context_roots=[str(dag_folder.parent / "private")]))


def test_no_dag_and_no_roots_refuses_local_contexts():
    op = KanikoBuildOperator(
        task_id="build", context=str(ROOT / "dags" / "images" / "hello"), destinations=[f"{REG}/demo/hello:1"]
    )
    assert "no allowed roots" in refused(op).reason


def test_urls_are_not_local_paths(dag_folder):
    op = single(dag_folder, "git://github.com/acme/app.git#refs/heads/main")
    assert op.build_specs()[0].context == "git://github.com/acme/app.git#refs/heads/main"


# Item 6: an empty context used to become the DAG folder itself.
@pytest.mark.parametrize("context", ["", "   "])
def test_empty_context_refused_naming_context(dag_folder, context):
    error = refused(single(dag_folder, context))
    assert error.value == context


def test_multi_build_contexts_are_confined_per_build(dag_folder):
    builds = [
        {"name": "ok", "context": "images/hello", "destinations": [f"{REG}/demo/ok:1"]},
        {"name": "evil", "context": "../private", "destinations": [f"{REG}/demo/evil:1"]},
    ]
    error = refused(in_dag(dag_folder, KanikoMultiBuildOperator, builds=builds), field="builds[1].context")
    assert error.value == "../private"
    builds[1]["context"] = ""
    refused(in_dag(dag_folder, KanikoMultiBuildOperator, builds=builds), field="builds[1].context")
