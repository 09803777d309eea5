import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

from airflow_kaniko.errors import KanikoSpecError, TerminationMessageError
from airflow_kaniko.kaniko import multi_build_script
from airflow_kaniko.kaniko.spec import KanikoBuild

REG = "10.244.77.1:5000"
HOSTILE = 'it\'s "quoted" ; echo pwned > /tmp/pwned ; $(touch /tmp/pwned) `id` $HOME\n--insecure *'
DIGEST_A, DIGEST_B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def spec(name, **overrides):
    return KanikoBuild(**{"name": name, "context": f"/dags/images/{name}", "destinations": [f"{REG}/demo/{name}:1"], **overrides})


def test_command_layout():
    builds = [spec("one"), spec("two", context="git://example.com/r.git")]
    argv = multi_build_script.command(builds)
    assert argv[:5] == ["/busybox/sh", "-c", multi_build_script.SCRIPT, "kaniko-multi-build", "0"]
    one = ["--cleanup", *builds[0].args(digest_file="/kaniko/results/0.digest", local_archive="/workspace/context-0.tar.gz")]
    two = ["--cleanup", *builds[1].args(digest_file="/kaniko/results/1.digest", local_archive="/workspace/context-1.tar.gz")]
    assert argv[5:] == ["one", str(len(one)), *one, "two", str(len(two)), *two]
    assert "--context=tar:///workspace/context-0.tar.gz" in one
    assert "--context=git://example.com/r.git" in two


def test_a_bare_value_flag_cannot_swallow_cleanup():
    # A string flag given as "--flag" takes the next argv item as its value; --cleanup must not be that item.
    argv = multi_build_script.command([spec("one", extra_args=["--ignore-path"])])
    build = argv[7:]
    assert build[0] == "--cleanup" and build[-1] == "--ignore-path"


def test_script_is_constant():
    # Values travel as argv items only; the shell code never changes with them.
    argv = multi_build_script.command([spec("evil", build_args={"X": HOSTILE}, labels={"l": HOSTILE})], keep_going=True)
    assert argv[2] == multi_build_script.SCRIPT
    assert HOSTILE not in argv[2]
    assert f"--build-arg=X={HOSTILE}" in argv and f"--label=l={HOSTILE}" in argv


@pytest.mark.parametrize(
    ("builds", "field", "reason"),
    [
        ([], "builds", "at least one"),
        ([spec("a"), KanikoBuild(context="/x", destinations=[f"{REG}/x:1"])], "builds[1].name", "needs a name"),
        ([spec("a"), spec("a", destinations=[f"{REG}/other:1"])], "builds[1].name", "used by another"),
        ([spec(f"b{i}") for i in range(multi_build_script.max_builds() + 1)], "builds", "termination message"),
    ],
)
def test_invalid_lists(builds, field, reason):
    with pytest.raises(KanikoSpecError) as info:
        multi_build_script.command(builds)
    assert info.value.field == field and reason in info.value.reason


def test_max_builds_fit_in_termination_message():
    worst = "".join(f"{i} ok {DIGEST_A}\n" for i in range(multi_build_script.max_builds()))
    assert len(worst.encode()) <= multi_build_script.TERMINATION_MESSAGE_LIMIT


FAKE_EXECUTOR = f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["CALLS"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if any(a.endswith("/fail:1") for a in args):
    print("error building image: exit status 3")
    sys.exit(3)
digest_file = next(a.split("=", 1)[1] for a in args if a.startswith("--digest-file="))
name = next(a for a in args if a.startswith("--destination=")).rsplit("/", 1)[1]
with open(digest_file, "w") as fh:
    fh.write("sha256:" + (name[0] * 64))  # no newline, as Kaniko writes it
"""


def shells():
    found = [pytest.param(["/bin/sh"], id="sh")]
    busybox = shutil.which("busybox")
    found.append(
        pytest.param(
            [busybox, "sh"] if busybox else None, id="busybox", marks=pytest.mark.skipif(not busybox, reason="no busybox")
        )
    )
    return found


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    # The args name RESULTS_DIR and the script reads $KANIKO_RESULTS: point both at the sandbox.
    monkeypatch.setattr(multi_build_script, "RESULTS_DIR", str(tmp_path / "results"))
    executor = tmp_path / "executor"
    executor.write_text(FAKE_EXECUTOR)
    executor.chmod(executor.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "results").mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "KANIKO_EXECUTOR": str(executor),
        "KANIKO_RESULTS": str(tmp_path / "results"),
        "KANIKO_TERMINATION_LOG": str(tmp_path / "termination-log"),
        "CALLS": str(tmp_path / "calls"),
    }
    return tmp_path, env


def run(shell, sandbox, builds, keep_going):
    tmp_path, env = sandbox
    # The same script and args as in the pod, under a shell of this machine.
    argv = [*shell, *multi_build_script.command(builds, keep_going=keep_going)[1:]]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    calls = [json.loads(line) for line in (tmp_path / "calls").read_text().splitlines()] if (tmp_path / "calls").exists() else []
    return proc, (tmp_path / "termination-log").read_text(), calls


@pytest.mark.parametrize("shell", shells())
def test_hostile_values_reach_the_executor_intact(shell, sandbox, tmp_path):
    builds = [spec("alpha", build_args={"X": HOSTILE}, labels={"evil": HOSTILE}), spec("bravo", extra_args=["--reproducible"])]
    proc, message, calls = run(shell, sandbox, builds, keep_going=False)
    assert proc.returncode == 0, proc.stderr
    expected = [
        ["--cleanup", *b.args(digest_file=f"{tmp_path}/results/{i}.digest", local_archive=multi_build_script.archive_path(i))]
        for i, b in enumerate(builds)
    ]
    assert calls == expected
    assert not os.path.exists("/tmp/pwned")
    assert message == f"0 ok {DIGEST_A}\n1 ok {DIGEST_B}\n"
    assert "kaniko-multi-build: [1] bravo: pushed " + DIGEST_B in proc.stdout


@pytest.mark.parametrize("shell", shells())
def test_stops_at_first_failure_by_default(shell, sandbox):
    builds = [spec("alpha"), spec("bad", destinations=[f"{REG}/demo/fail:1"]), spec("charlie")]
    proc, message, calls = run(shell, sandbox, builds, keep_going=False)
    assert proc.returncode == 1
    assert message == f"0 ok {DIGEST_A}\n1 failed 3\n2 skipped\n"
    assert len(calls) == 2  # charlie never ran
    outcomes = multi_build_script.parse_results(message, builds)
    assert [(o.name, o.status) for o in outcomes] == [("alpha", "succeeded"), ("bad", "failed"), ("charlie", "skipped")]


@pytest.mark.parametrize("shell", shells())
def test_keep_going_runs_the_rest(shell, sandbox):
    builds = [spec("bad", destinations=[f"{REG}/demo/fail:1"]), spec("charlie")]
    proc, message, calls = run(shell, sandbox, builds, keep_going=True)
    assert proc.returncode == 1
    assert message == f"0 failed 3\n1 ok sha256:{'c' * 64}\n"
    assert len(calls) == 2


def test_parse_results_maps_digests_to_destinations():
    builds = [spec("alpha", destinations=[f"{REG}/a:1", f"{REG}/a:latest"]), spec("bravo")]
    outcomes = multi_build_script.parse_results(f"0 ok {DIGEST_A}\n1 failed 1\n", builds)
    assert [o.to_dict() for o in outcomes] == [
        {
            "name": "alpha",
            "status": "succeeded",
            "digest": DIGEST_A,
            "images": [f"{REG}/a:1@{DIGEST_A}", f"{REG}/a:latest@{DIGEST_A}"],
        },
        {"name": "bravo", "status": "failed", "digest": None, "images": []},
    ]
    assert outcomes[1].exit_code == 1


def test_parse_results_missing_lines_are_skipped_builds():
    outcomes = multi_build_script.parse_results("", [spec("alpha")])
    assert outcomes[0].status == "skipped"


@pytest.mark.parametrize("message", ["garbage", "0 ok sha256:short", "5 ok " + DIGEST_A, "0 exploded", "x failed 1"])
def test_parse_results_rejects_unreadable_lines(message):
    with pytest.raises(TerminationMessageError, match="unreadable result line"):
        multi_build_script.parse_results(message, [spec("alpha")])


# Issue 8, item 10: two builds pushing one tag would overwrite each other and both report success.
def test_two_builds_pushing_one_destination_refused_naming_both():
    builds = [spec("alpha"), spec("bravo", destinations=[f"{REG}/demo/bravo:1", f"{REG}/demo/alpha:1"])]
    with pytest.raises(KanikoSpecError) as info:
        multi_build_script.command(builds)
    assert info.value.field == "builds[1].destinations"
    assert info.value.value == f"{REG}/demo/alpha:1"
    assert "builds[0] (alpha)" in info.value.reason and "builds[1] (bravo)" in info.value.reason


def test_same_repository_with_other_tags_is_fine():
    builds = [spec("alpha", destinations=[f"{REG}/demo/app:a"]), spec("bravo", destinations=[f"{REG}/demo/app:b"])]
    assert multi_build_script.command(builds)
