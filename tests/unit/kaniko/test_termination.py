import pytest

from airflow_kaniko.errors import TerminationMessageError
from airflow_kaniko.kaniko.termination import classify_failure, failure_summary, parse_digest

DIGEST = "sha256:" + "0123456789abcdef" * 4


def test_bare_digest():
    assert parse_digest(DIGEST) == DIGEST
    assert parse_digest(DIGEST + "\n") == DIGEST


@pytest.mark.parametrize("message", [None, "", "  \n"])
def test_empty(message):
    with pytest.raises(TerminationMessageError, match="empty"):
        parse_digest(message)


@pytest.mark.parametrize(
    "message", ["sha256:abc", "md5:" + "0" * 32, f"repo@{DIGEST}", f"{DIGEST}\n{DIGEST}", "error building image"]
)
def test_malformed(message):
    with pytest.raises(TerminationMessageError, match="is not a 'sha256:<64 hex>' digest"):
        parse_digest(message)


def test_failure_tail_with_ansi_codes_and_partial_first_line():
    tail = (
        "ed-line of an earlier INFO message\n"
        + 'time="2026-11-27T03:00:00Z" level=info msg="Running: [/bin/sh -c exit 3]"\n' * 30
        + "\x1b[31mERRO\x1b[0m[0003] Error building image: error building stage: "
        "failed to execute command: waiting for process to exit: exit status 3\n"
    )
    assert len(tail.encode()) >= 2048
    assert failure_summary(tail) == (
        "ERRO[0003] Error building image: error building stage: failed to execute command: "
        "waiting for process to exit: exit status 3"
    )


def test_text_format_error_lines_kept_in_order():
    tail = (
        'time="t" level=info msg="Retrieving image manifest reg/base"\n'
        'time="t" level=error msg="error checking push permissions -- make sure you entered the correct tag name"\n'
        'time="t" level=fatal msg="UNAUTHORIZED: authentication required"\n'
    )
    assert failure_summary(tail).splitlines() == tail.strip().splitlines()[1:]


def test_no_error_lines_falls_back_to_last_lines():
    tail = "\n".join(f"line {i}" for i in range(20))
    assert failure_summary(tail, max_lines=3) == "line 17\nline 18\nline 19"


@pytest.mark.parametrize("message", [None, ""])
def test_failure_without_output(message):
    assert failure_summary(message) == "(the executor left no output)"


@pytest.mark.parametrize(
    ("message", "reason", "pod_reason", "kind", "retryable"),
    [
        (
            "error building image: error building stage: failed to execute command: waiting for process to exit: exit status 3",
            "Error",
            None,
            "dockerfile",
            False,
        ),
        (
            "error building image: error building stage: failed to get files used from context: failed to get "
            "fileinfo for /kaniko/buildcontext/x: lstat: no such file or directory",
            "Error",
            None,
            "dockerfile",
            False,
        ),
        ("dockerfile parse error line 2: unknown instruction: FORM", "Error", None, "dockerfile", False),
        (
            "error checking push permissions -- make sure you entered the correct tag name: UNAUTHORIZED: "
            "authentication required",
            "Error",
            None,
            "push",
            True,
        ),
        (
            "error pushing image: failed to push to destination r/x:1: PUT https://r/v2/x/manifests/1: unexpected "
            "status code 500 Internal Server Error",
            "Error",
            None,
            "registry",
            True,
        ),
        (
            "error building image: error building stage: failed to get filesystem from image: GET "
            "https://r/v2/library/busybox/blobs/sha256:ab: unexpected status code 503",
            "Error",
            None,
            "registry",
            True,
        ),
        (
            "error building image: unable to complete operation after 0 attempts, last error: GET "
            "https://r/v2/base/manifests/1: MANIFEST_UNKNOWN: manifest unknown",
            "Error",
            None,
            "pull",
            True,
        ),
        ("Killed", "OOMKilled", None, "out-of-memory", True),
        ("", "Error", "DeadlineExceeded", "deadline", True),
        ("", "Error", "Evicted", "evicted", True),
        ("something nobody foresaw", "Error", None, "unknown", True),
    ],
)
def test_classify_failure(message, reason, pod_reason, kind, retryable):
    failure = classify_failure(message, reason=reason, pod_reason=pod_reason)
    assert (failure.kind, failure.retryable) == (kind, retryable)


def test_only_error_lines_classify_a_failure():
    tail = (
        'time="t" level=info msg="Retrieving image 10.244.77.1:5000/library/busybox:latest from registry 10.244.77.1:5000"\n'
        "error building image: error building stage: failed to execute command: waiting for process to exit: exit status 3\n"
    )
    assert classify_failure(tail).kind == "dockerfile"


def test_failure_detail_is_kanikos_error_lines():
    tail = (
        'time="t" level=info msg="Retrieving image"\nerror building image: error building stage: failed to execute '
        "command: exit status 3\n"
    )
    assert classify_failure(tail).detail == "error building image: error building stage: failed to execute command: exit status 3"
