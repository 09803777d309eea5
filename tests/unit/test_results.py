"""The typed results render exactly the XCom JSON running DAGs already hold, and read it back."""

import json

import pytest

from airflow_kaniko.results import (
    BuildFailure,
    BuildResult,
    FailedBuild,
    IndexResult,
    RenderedBuild,
    RenderedIndex,
    match_results,
    parse_result,
    parse_results,
    pushed_images,
)

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
APP = "reg.example.com/team/app:1"
FAILURE = {"kind": "dockerfile", "retryable": False, "detail": "RUN false: exit 1"}

# (typed value, the JSON the operators pushed before the types existed)
PINNED = [
    (BuildResult(D1, (f"{APP}@{D1}",)), {"digest": D1, "images": [f"{APP}@{D1}"]}),
    (
        BuildResult(D1, (f"{APP}-linux-arm64@{D1}",), "linux/arm64", (APP,)),
        {"digest": D1, "images": [f"{APP}-linux-arm64@{D1}"], "platform": "linux/arm64", "destinations": [APP]},
    ),
    (
        FailedBuild(BuildFailure.from_dict(FAILURE), (APP,)),
        {"failed": True, "failure": FAILURE, "destinations": [APP]},
    ),
    (FailedBuild(None, (APP,)), {"failed": True, "failure": None, "destinations": [APP]}),
    (
        FailedBuild(BuildFailure.from_dict(FAILURE), (APP,), "linux/amd64"),
        {"failed": True, "failure": FAILURE, "platform": "linux/amd64", "destinations": [APP]},
    ),
    (RenderedBuild("kaniko-app-x1", (APP,)), {"dry_run": True, "pod": "kaniko-app-x1", "destinations": [APP]}),
    (
        RenderedBuild("kaniko-app-x1", (APP,), "linux/amd64"),
        {"dry_run": True, "pod": "kaniko-app-x1", "destinations": [APP], "platform": "linux/amd64"},
    ),
    (
        IndexResult(D2, (f"{APP}@{D2}",), {"linux/amd64": D1}, (APP,)),
        {"digest": D2, "images": [f"{APP}@{D2}"], "platforms": {"linux/amd64": D1}, "destinations": [APP]},
    ),
    (
        RenderedIndex(("linux/amd64", "linux/arm64"), (APP,)),
        {"dry_run": True, "platforms": ["linux/amd64", "linux/arm64"], "destinations": [APP]},
    ),
]


@pytest.mark.parametrize(("typed", "xcom"), PINNED, ids=lambda v: type(v).__name__)
def test_each_result_renders_the_pinned_xcom_json_and_reads_it_back(typed, xcom):
    assert typed.to_xcom() == xcom
    assert parse_result(json.loads(json.dumps(xcom))) == typed


@pytest.mark.parametrize("value", [None, "sha256:x", [], {}, {"digest": 3, "images": []}, {"digest": D1}])
def test_anything_else_is_no_result(value):
    assert parse_result(value) is None
    assert pushed_images(value) == []


def test_pushed_images_only_for_what_was_pushed():
    assert pushed_images(PINNED[0][1]) == [f"{APP}@{D1}"]
    assert pushed_images(PINNED[7][1]) == [f"{APP}@{D2}"]
    assert [pushed_images(x) for _, x in PINNED[2:7]] == [[]] * 5


def test_match_results_by_any_common_destination_platforms_apart_last_wins():
    other = "reg.example.com/team/other:1"
    amd = BuildResult(D1, (f"{APP}-linux-amd64@{D1}",), "linux/amd64", (APP, "reg.example.com/team/app:latest"))
    older = FailedBuild(None, (APP,))
    index = IndexResult(D2, (f"{APP}@{D2}",), {"linux/amd64": D1}, (APP,))
    unrelated = BuildResult(D1, (f"{other}@{D1}",))
    matched = match_results(["reg.example.com/team/app:latest"], [older, amd, unrelated])
    assert matched.result is None and matched.platforms == {"linux/amd64": amd}
    matched = match_results([APP], parse_results([older.to_xcom(), None, amd.to_xcom(), index.to_xcom()]))
    assert matched.result == index and matched.platforms == {"linux/amd64": amd}
    assert match_results([other], [older, amd, unrelated]).result == unrelated
    assert match_results(["reg.example.com/none:1"], [older, amd, unrelated]).result is None
