import os

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko.local_paths import confine


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "dags" / "images" / "app").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    return tmp_path


def test_inside_paths_come_back_resolved(tree):
    dags = tree / "dags"
    assert confine("context", "images/app", [dags], base=dags) == dags / "images" / "app"
    assert confine("context", str(dags / "images" / ".." / "images" / "app"), [dags]) == dags / "images" / "app"
    assert confine("context", ".", [dags], base=dags) == dags
    assert confine("context", "images/not-yet", [dags], base=dags) == dags / "images" / "not-yet"


@pytest.mark.parametrize("path", ["../outside", "../../../../etc", "/etc", "images/../../outside", "/"])
def test_outside_paths_refused_naming_path_and_roots(tree, path):
    dags = tree / "dags"
    with pytest.raises(KanikoSpecError) as info:
        confine("context", path, [dags], base=dags)
    assert info.value.field == "context" and info.value.value == path
    assert str(dags) in info.value.reason and "outside the allowed roots" in info.value.reason


def test_symlinks_are_resolved_before_the_check(tree):
    dags = tree / "dags"
    os.symlink(tree / "outside", dags / "images" / "escape")
    os.symlink("/etc", dags / "etc")
    for path in ("images/escape", "etc", "images/escape/sub"):
        with pytest.raises(KanikoSpecError, match="outside the allowed roots"):
            confine("context", path, [dags], base=dags)


def test_a_root_that_is_a_symlink_still_works(tree):
    # git-sync style: the DAG folder is a symlink to the current checkout.
    os.symlink(tree / "dags", tree / "current")
    assert confine("context", "images/app", [tree / "current"], base=tree / "current") == tree / "dags" / "images" / "app"


def test_a_sibling_with_a_common_prefix_is_outside(tree):
    (tree / "dags-evil").mkdir()
    with pytest.raises(KanikoSpecError, match="outside the allowed roots"):
        confine("context", str(tree / "dags-evil"), [tree / "dags"])


def test_several_roots(tree):
    assert confine("context", str(tree / "outside"), [tree / "dags", tree / "outside"]) == tree / "outside"


def test_no_roots_refuses_everything(tree):
    with pytest.raises(KanikoSpecError, match="no allowed roots"):
        confine("context", str(tree / "dags"), [])
