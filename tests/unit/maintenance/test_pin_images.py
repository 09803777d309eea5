"""The packed Dockerfile names every planned base by its digest (issue 18, item 2): pin_images and check_pins."""

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko.base_pins import MAX_PINS, check_pins
from airflow_kaniko.maintenance.dockerfile import DockerfileError, build_bases, pin_images

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def pin(line, written, pinned):
    return {"line": line, "written": written, "pinned": pinned}


def test_a_literal_from_keeps_its_flags_and_stage_name_and_the_rest_of_the_file():
    text = "# syntax note\nFROM --platform=$BUILDPLATFORM reg.io/a:1 AS build\nRUN echo reg.io/a:1\nFROM scratch\n"
    result = pin_images(text, [pin(2, "reg.io/a:1", f"reg.io/a:1@{D1}")])
    assert result == (
        f"# syntax note\nFROM --platform=$BUILDPLATFORM reg.io/a:1@{D1} AS build\nRUN echo reg.io/a:1\nFROM scratch\n"
    )


def test_from_an_arg_is_replaced_by_the_pinned_reference_itself():
    text = "ARG BASE=reg.io/a:1\nFROM ${BASE}\nCOPY . /app\n"
    result = pin_images(text, [pin(2, "${BASE}", f"reg.io/a:1@{D1}")])
    assert result == f"ARG BASE=reg.io/a:1\nFROM reg.io/a:1@{D1}\nCOPY . /app\n"
    # a build arg that moved the ARG elsewhere: the pin is what was planned with that build arg
    assert [b.reference for b in build_bases(result, {"BASE": "reg.io/z:9"}).images] == [f"reg.io/a:1@{D1}"]


def test_copy_from_and_a_run_mount_from_over_continued_lines():
    text = (
        "FROM reg.io/a:1\n"
        "COPY --chown=0:0 --from=reg.io/tools:2 \\\n  /bin/tool /bin/tool\n"
        "RUN --mount=type=bind,from=reg.io/data:3,target=/data \\\n  cat /data/x\n"
    )
    pins = [
        pin(1, "reg.io/a:1", f"reg.io/a:1@{D1}"),
        pin(2, "reg.io/tools:2", f"reg.io/tools:2@{D2}"),
        pin(4, "reg.io/data:3", f"reg.io/data:3@{D1}"),
    ]
    result = pin_images(text, pins)
    assert result == (
        f"FROM reg.io/a:1@{D1}\n"
        f"COPY --chown=0:0 --from=reg.io/tools:2@{D2} \\\n  /bin/tool /bin/tool\n"
        f"RUN --mount=type=bind,from=reg.io/data:3@{D1},target=/data \\\n  cat /data/x\n"
    )
    assert [b.reference for b in build_bases(result).images] == [p["pinned"] for p in pins]


def test_an_image_not_pinned_stays_as_written_and_a_stage_name_is_never_touched():
    text = "FROM reg.io/a:1 AS a\nFROM reg.io/b:1\nCOPY --from=a /x /x\n"
    assert pin_images(text, [pin(2, "reg.io/b:1", f"reg.io/b:1@{D1}")]) == (
        f"FROM reg.io/a:1 AS a\nFROM reg.io/b:1@{D1}\nCOPY --from=a /x /x\n"
    )


@pytest.mark.parametrize(
    ("pins", "message"),
    [
        ([pin(3, "reg.io/a:1", f"reg.io/a:1@{D1}")], r"Dockerfile:3: cannot pin 'reg.io/a:1': no FROM, COPY, ADD or RUN"),
        ([pin(1, "reg.io/other:1", f"reg.io/other:1@{D1}")], r"Dockerfile:1: cannot pin 'reg.io/other:1': not found"),
        ([pin(1, "reg.io/a:1", "reg.io/a:2")], r"Dockerfile:1: pin 'reg.io/a:2' for 'reg.io/a:1' is not pinned by digest"),
    ],
)
def test_a_pin_that_does_not_match_the_file_is_refused(pins, message):
    with pytest.raises(DockerfileError, match=message):
        pin_images("FROM reg.io/a:1\nENV X=1\n", pins)


def test_a_pin_that_would_change_another_image_is_refused():
    # Two pins for one word: the second finds the word gone, so the parse check or the search refuses it.
    with pytest.raises(DockerfileError):
        pin_images("FROM reg.io/a:1\n", [pin(1, "reg.io/a:1", f"reg.io/a:1@{D1}"), pin(1, "reg.io/a:1", f"reg.io/a:1@{D2}")])


def test_check_pins_accepts_plain_pins_and_names_the_field_and_the_fault():
    assert check_pins(None) == []
    assert check_pins([pin(2, "${BASE}", f"reg.io/a:1@{D1}")]) == [pin(2, "${BASE}", f"reg.io/a:1@{D1}")]
    bad = [
        ("reg.io/a:1", "must be a list"),
        ([{"line": 1, "written": "a"}], "exactly line, written and pinned"),
        ([pin(True, "a", f"a@{D1}")], "line must be a positive integer"),
        ([pin(0, "a", f"a@{D1}")], "line must be a positive integer"),
        ([pin(1, "a b", f"a@{D1}")], "written must be the reference as written"),
        ([pin(1, "a", "a:1")], r"pinned must be an image reference ending in @sha256:<64 hex>"),
        ([pin(1, "a", "a@sha256:" + "A" * 64)], r"ending in @sha256:<64 hex>"),
        ([pin(1, "a", f"a@{D1}")] * (MAX_PINS + 1), f"at most {MAX_PINS}"),
    ]
    for value, reason in bad:
        with pytest.raises(KanikoSpecError, match=reason) as info:
            check_pins(value)
        assert info.value.field == "base_pins"
