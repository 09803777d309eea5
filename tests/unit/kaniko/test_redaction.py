import base64

from airflow_kaniko.kaniko.docker_config import render_docker_config, secret_forms
from airflow_kaniko.kaniko.redaction import Redactor


def test_every_form_of_the_credentials_is_redacted():
    config = render_docker_config("reg.example.com", "builder", "hunter2-long")
    redactor = Redactor()
    redactor.add(*secret_forms("builder", "hunter2-long", config))
    auth = base64.b64encode(b"builder:hunter2-long").decode()
    printed = [config.decode(), f'"auth": "{auth}"', "password is hunter2-long", base64.b64encode(config).decode()]
    assert [redactor.redact(text) for text in printed] == ["***", '"auth": "***"', "password is ***", "***"]


def test_longest_secret_wins_so_nothing_is_left_half_redacted():
    redactor = Redactor()
    redactor.add("abcde", "abcdefghij")
    assert redactor.redact("xx abcdefghij yy") == "xx *** yy"


def test_short_and_empty_values_are_not_secrets():
    redactor = Redactor()
    redactor.add("", None, "abc")
    assert redactor.secrets == frozenset()
    assert redactor.redact("abc") == "abc"


def test_regex_characters_are_literal():
    redactor = Redactor()
    redactor.add("p.ss*(w)+")
    assert redactor.redact("p.ss*(w)+ and pXss") == "*** and pXss"
