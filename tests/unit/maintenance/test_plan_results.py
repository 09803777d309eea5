"""Build results folded into the plan, and the report's rows from it."""

from airflow_kaniko.maintenance.planner import absorb, finish, level_builds
from airflow_kaniko.maintenance.reasons import Reason
from airflow_kaniko.maintenance.report import summarize_plan

R = "reg.io:5000/demo"
D0, D1, D2 = ("sha256:" + c * 64 for c in "012")


def state(name, level, status, reason, **kw):
    build = {"image_name": name, "destinations": [f"{R}/{name}:1", f"{R}/{name}:fp-x"]} if status == "build" else None
    return {
        "name": name,
        "level": level,
        "status": status,
        "reason": reason.to_dict(),
        "parents": [],
        "fingerprint": "f" * 64,
        "digest": kw.get("digest"),
        "previous_digest": kw.get("previous"),
        "build": build,
        "images": kw.get("images", []),
    }


def plan():
    return {
        "dry_run": False,
        "levels": [["base", "same", "kept", "broken"], ["child"]],
        "images": {
            "base": state("base", 0, "build", Reason("context"), previous=D0),
            "same": state("same", 0, "build", Reason("forced"), previous=D1),
            "kept": state(
                "kept",
                0,
                "unchanged",
                Reason("unchanged", fingerprint="f" * 64, digest=D2),
                digest=D2,
                images=[f"{R}/kept:1@{D2}"],
            ),
            "broken": state("broken", 0, "build", Reason("first")),
            "child": state("child", 1, "build", Reason("parent", parents=("base",))),
        },
    }


def test_level_builds_are_the_planned_kwargs_in_manifest_order():
    assert [b["image_name"] for b in level_builds(plan(), 0)] == ["base", "same", "broken"]
    assert [b["image_name"] for b in level_builds(plan(), 1)] == ["child"]
    assert level_builds(plan(), 4) == []


def test_absorb_marks_results_up_to_a_level_and_the_rest_failed():
    p = plan()
    results = [
        {"digest": D1, "images": [f"{R}/base:1@{D1}", f"{R}/base:fp-x@{D1}"]},
        {"digest": D1, "images": [f"{R}/same:1@{D1}"]},
        None,
    ]
    absorb(p, results, through_level=0)
    assert {n: (s["status"], s["digest"]) for n, s in p["images"].items()} == {
        "base": ("rebuilt", D1),
        "same": ("rebuilt", D1),
        "kept": ("unchanged", D2),
        "broken": ("failed", None),
        "child": ("build", None),
    }
    finish(p, results)
    assert p["images"]["child"]["status"] == "failed"


def test_report_rows_say_why():
    p = finish(
        plan(),
        [
            {"digest": D1, "images": [f"{R}/base:1@{D1}"]},
            {"digest": D1, "images": [f"{R}/same:1@{D1}"]},
            {"digest": D2, "images": [f"{R}/child:1@{D2}"]},
        ],
    )
    report = summarize_plan(p)
    assert [(r.name, r.status, r.reason) for r in report.rows] == [
        ("base", "rebuilt", "rebuilt (context changed)"),
        ("same", "rebuilt", "rebuilt, identical (forced)"),
        ("kept", "unchanged", "unchanged (fingerprint ffffffffffff…, digest sha256:222222222222…)"),
        ("broken", "failed", "failed"),
        ("child", "rebuilt", "rebuilt (parent base rebuilt)"),
    ]
    assert report.failed == ["broken"]
    row = report.to_dict()["images"][1]
    assert row["detail"] == {
        "level": 0,
        "reason": {"kind": "forced"},
        "identical": True,
        "fingerprint": "f" * 64,
        "previous_digest": D1,
    }
    assert report.table().splitlines()[0].split() == ["IMAGE", "DIGEST", "REASON"]


def test_dry_run_rows_are_planned():
    p = plan()
    p["dry_run"] = True
    report = summarize_plan(finish(p, []))
    assert [(r.status, r.reason) for r in report.rows][:2] == [
        ("planned", "would be rebuilt (context changed)"),
        ("planned", "would be rebuilt (forced)"),
    ]
