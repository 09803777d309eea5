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
