import pytest

from airflow_kaniko.kaniko.errors import TerminationMessageError
from airflow_kaniko.kaniko.termination import failure_summary, parse_digest

DIGEST = "sha256:" + "0123456789abcdef" * 4


def test_bare_digest():
    assert parse_digest(DIGEST) == DIGEST
    assert parse_digest(DIGEST + "\n") == DIGEST


@pytest.mark.parametrize("message", [None, "", "  \n"])
def test_empty(message):
    with pytest.raises(TerminationMessageError, match="empty"):
        parse_digest(message)


@pytest.mark.parametrize("message", ["sha256:abc", "md5:" + "0" * 32, f"repo@{DIGEST}", f"{DIGEST}\n{DIGEST}", "error building image"])
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
