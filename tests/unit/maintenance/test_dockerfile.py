"""Base images of a build after ARG substitution: the cases parsers get wrong."""

import pytest

from airflow_kaniko.maintenance.dockerfile import DockerfileError, build_bases


def refs(text, args=None, target=None):
    return [b.reference for b in build_bases(text, args, target=target).images]


def test_global_arg_default_both_spellings():
    assert refs("ARG BASE=reg.io/a:1\nFROM $BASE\n") == ["reg.io/a:1"]
    assert refs("ARG BASE=reg.io/a:1\nFROM ${BASE}\n") == ["reg.io/a:1"]


def test_build_arg_overrides_default():
    assert refs("ARG BASE=reg.io/a:1\nFROM ${BASE}\n", {"BASE": "reg.io/b:2"}) == ["reg.io/b:2"]


def test_arg_declared_inside_a_stage_does_not_reach_a_later_from():
    text = "ARG BASE=reg.io/a:1\nFROM ${BASE} AS one\nARG BASE=reg.io/b:2\nFROM ${BASE}\n"
    assert refs(text) == ["reg.io/a:1", "reg.io/a:1"]
    # ... not even through a build arg: the override applies to the global ARG, which both FROMs use
    assert refs(text, {"BASE": "reg.io/c:3"}) == ["reg.io/c:3", "reg.io/c:3"]


def test_arg_only_declared_in_a_stage_is_unset_for_from():
    with pytest.raises(
        DockerfileError, match=r"Dockerfile:3: base image '\$\{LATER\}' expands to an empty reference: ARG LATER has no default"
    ):
        build_bases("FROM reg.io/a:1\nARG LATER=reg.io/b:2\nFROM ${LATER}\n")


def test_default_and_alternative_forms():
    assert refs("ARG V\nFROM python:${V:-3.12}-slim\n") == ["python:3.12-slim"]
    assert refs("ARG V\nFROM python:${V:-3.12}-slim\n", {"V": "3.13"}) == ["python:3.13-slim"]
    assert refs("ARG V=\nFROM python:${V:-3.12}\n") == ["python:3.12"]  # :- also replaces empty
    assert refs("ARG V\nFROM python${V-:3.11}\n") == ["python:3.11"]  # - replaces unset
    assert refs("ARG V=x\nFROM python${V:+:3.10}\n") == ["python:3.10"]
    assert refs("ARG V=x\nFROM python${V+:3.10}\n") == ["python:3.10"]
    assert refs("ARG V\nFROM python${V+:3.10}\n") == ["python"]


def test_forms_where_expandvars_and_docker_disagree_are_refused():
    # Docker: ${V-x} keeps an empty V; expandvars would substitute x. Refuse rather than guess.
    with pytest.raises(DockerfileError, match="ARG V is set but empty"):
        build_bases("ARG V=\nFROM python${V-:3.11}\n")
    for form in ("${#V}", "${!V}", "${V:1}"):
        with pytest.raises(DockerfileError, match="only .* are supported"):
            build_bases(f"ARG V=abc\nFROM python:{form}\n")


def test_dollar_name_ends_at_the_first_non_name_character():
    assert refs("ARG REG=reg.io\nFROM $REG/team/app:1\n") == ["reg.io/team/app:1"]
    with pytest.raises(DockerfileError, match="empty reference"):
        build_bases("ARG REG=reg.io\nFROM $REGX\n")  # $REGX is another, unset, variable


def test_arg_with_no_default_and_no_build_arg_is_a_clear_error():
    with pytest.raises(
        DockerfileError,
        match=r"Dockerfile:2: base image '\$\{BASE\}' expands to an empty reference: ARG BASE has no default and no build arg",
    ):
        build_bases("ARG BASE\nFROM ${BASE}\n")


def test_build_arg_for_an_undeclared_name_is_ignored_as_docker_does():
    with pytest.raises(DockerfileError, match="empty reference"):
        build_bases("FROM ${BASE}\n", {"BASE": "reg.io/a:1"})


def test_arg_names_are_case_sensitive():
    assert refs("ARG base=reg.io/lower:1\nARG BASE=reg.io/upper:1\nFROM ${base}\n") == ["reg.io/lower:1"]
    assert refs("ARG base=reg.io/lower:1\nFROM ${base}\n", {"BASE": "reg.io/ignored:1"}) == ["reg.io/lower:1"]


def test_defaults_can_use_earlier_args_and_quotes():
    assert refs('ARG REG=reg.io\nARG BASE="${REG}/a:1"\nFROM ${BASE}\n') == ["reg.io/a:1"]
    assert refs("ARG A=reg.io/a:1 B=reg.io/b:2\nFROM $A\nFROM $B\n") == ["reg.io/a:1", "reg.io/b:2"]


def test_stages_by_name_and_scratch_are_not_external():
    text = "FROM busybox AS Build\nFROM build AS test\nFROM scratch\nCOPY --from=BUILD /a /a\nCOPY --from=0 /b /b\n"
    bases = build_bases(text)
    assert [b.reference for b in bases.images] == ["busybox"]
    assert [s.parent_stage for s in bases.stages] == [None, 0, None]
    assert bases.final_base is None  # scratch


def test_multi_stage_from_stage_as_alias_follows_to_the_external_base():
    bases = build_bases("ARG BASE=reg.io/a:1\nFROM ${BASE} AS deps\nFROM deps AS runtime\n")
    assert bases.final_base.reference == "reg.io/a:1"
    assert bases.stages[1].name == "runtime" and bases.stages[1].parent_stage == 0


def test_platform_flag_and_lowercase_keywords():
    assert refs("from --platform=linux/amd64 alpine:3.20 as x\n") == ["alpine:3.20"]


def test_copy_from_and_mount_from_images_count():
    text = "FROM busybox\nCOPY --from=alpine:3 /etc/os-release /x\nRUN --mount=type=bind,from=node:20,target=/n true\n"
    assert refs(text) == ["busybox", "alpine:3", "node:20"]


def test_target_limits_the_stages_that_count():
    text = "FROM reg.io/a:1 AS build\nFROM reg.io/b:1 AS runtime\nFROM reg.io/c:1 AS test\n"
    assert refs(text, target="runtime") == ["reg.io/a:1", "reg.io/b:1"]
    with pytest.raises(DockerfileError, match="no stage named 'nope'"):
        build_bases(text, target="nope")


def test_args_a_reference_went_through_are_recorded_for_pinning():
    bases = build_bases("ARG REG=r.io\nARG BASE=${REG}/a:1\nFROM ${BASE}\nFROM $REG/b:${TAG:-2}\n")
    assert [(b.written, b.args) for b in bases.images] == [("${BASE}", ("BASE",)), ("$REG/b:${TAG:-2}", ("REG", "TAG"))]


def test_escape_directive_backtick():
    assert refs("# escape=`\nARG BASE=reg.io/a:1\nFROM ${BASE}\n") == ["reg.io/a:1"]


def test_double_dollar_is_refused_rather_than_guessed():
    with pytest.raises(DockerfileError, match="not supported"):
        build_bases("FROM busybox$$\n")


def test_invalid_results_and_files():
    with pytest.raises(DockerfileError, match="has no FROM"):
        build_bases("RUN true\n")
    with pytest.raises(DockerfileError, match="expands to 'Not A Ref', which is not an image reference"):
        build_bases('ARG B="Not A Ref"\nFROM ${B}\n')


# Issue 18, item 1: a remote ADD source, as the executor sees it after ARG and ENV substitution.
def remote(text, args=None, target=None):
    return [(r.line, r.source) for r in build_bases(text, args, target=target).remote_sources]


@pytest.mark.parametrize(
    "source",
    [
        "https://files.example.com/tool.tgz",
        "http://10.0.0.1:8080/x",
        "https://github.com/org/repo.git#v1.2",
        "git://host/repo.git",
        "ssh://git@host/repo.git",
        "git@github.com:org/repo.git",
    ],
)
def test_an_add_of_a_url_or_a_git_repository_is_remote(source):
    assert remote(f"FROM busybox\nADD {source} /opt/\n") == [(2, source)]


@pytest.mark.parametrize("source", ["tool.tgz", "./dir/", "https:/no-host", "/abs/path", "C:/x", "1http://x/y"])
def test_a_local_source_is_not(source):
    assert remote(f"FROM busybox\nADD {source} /opt/\n") == []


def test_a_heredoc_is_not():
    assert remote("FROM busybox\nADD <<EOF /opt/x\nhttps://a.example/x\nEOF\n") == []


def test_copy_is_never_remote_and_checksum_earns_no_exception():
    text = "FROM busybox\nCOPY https://a.example/x /x\nADD --checksum=sha256:" + "0" * 64 + " https://a.example/y /y\n"
    assert remote(text) == [(3, "https://a.example/y")]


def test_every_source_of_a_json_add_counts_but_not_its_destination():
    assert remote('FROM busybox\nADD ["a.txt", "https://a.example/b", "https://a.example/c/"]\n') == [(2, "https://a.example/b")]


def test_a_source_through_an_arg_default_a_build_arg_or_an_env_counts():
    text = "ARG HOST=a.example\nFROM busybox\nARG HOST\nARG URL=https://${HOST}/x\nENV FILE=https://env.example/f\n"
    text += "ADD ${URL} /x\nADD $FILE /f\nARG LOCAL=file.txt\nADD ${LOCAL} /l\n"
    assert remote(text) == [(6, "https://a.example/x"), (7, "https://env.example/f")]
    assert remote(text, {"URL": "https://override.example/u", "LOCAL": "https://b.example/l"}) == [
        (6, "https://override.example/u"),
        (7, "https://env.example/f"),
        (9, "https://b.example/l"),
    ]


def test_a_global_arg_reaches_add_only_when_the_stage_declares_it_and_env_passes_to_a_child_stage():
    text = "ARG URL=https://a.example/x\nFROM busybox AS one\nENV E=https://e.example/f\nADD ${URL} /x\n"
    text += "FROM one\nARG URL\nADD ${URL} /y\nADD ${E} /z\n"
    # Line 4: URL is not declared in the stage, so it may come from the base image's ENV: unknowable, remote.
    assert remote(text) == [(4, None), (7, "https://a.example/x"), (8, "https://e.example/f")]


def test_a_source_that_cannot_be_expanded_here_counts_as_remote():
    text = "FROM busybox\nADD ${FROM_BASE_ENV}/x /x\nADD $$ /y\nARG L=local\nADD ${L} /l\n"
    assert remote(text) == [(2, None), (3, None)]


def test_only_the_stages_up_to_the_target_count():
    text = "FROM busybox AS one\nADD a /a\nFROM busybox AS two\nADD https://a.example/x /x\n"
    assert remote(text, target="one") == [] and remote(text) == [(4, "https://a.example/x")]


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("https://user:s3cret@a.example/x?X-Amz-Signature=s3cret#ref", "https://***@a.example/x?***#ref"),
        ("git@github.com:org/repo.git", "***@github.com:org/repo.git"),
        ("https://a.example/" + "x" * 200, "https://a.example/" + "x" * 81 + "…"),
    ],
)
def test_a_remote_source_is_shown_without_userinfo_or_query_and_shortened(source, shown):
    (found,) = build_bases(f"FROM busybox\nADD {source} /x\n").remote_sources
    assert found.shown() == shown and len(shown) <= 100
