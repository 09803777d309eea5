import hashlib
import json

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko.spec import KanikoBuild
from airflow_kaniko.oci.platforms import (
    INDEX_MEDIA_TYPE,
    Platform,
    PlatformManifest,
    index_document,
    node_selector,
    parse_platform,
    parse_platforms,
    staging_destinations,
    staging_tag,
)

REG = "registry.example.com:5000"
OCI = "application/vnd.oci.image.manifest.v1+json"
DOCKER = "application/vnd.docker.distribution.manifest.v2+json"
D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/amd64", Platform("linux", "amd64")),
        ("linux/arm64", Platform("linux", "arm64")),
        ("linux/arm64/v8", Platform("linux", "arm64", "v8")),
        ("linux/arm/v7", Platform("linux", "arm", "v7")),
        ("windows/amd64", Platform("windows", "amd64")),
    ],
)
def test_parse_round_trips(text, expected):
    platform = parse_platform(text)
    assert platform == expected
    assert str(platform) == text


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("linux", "must be 'os/arch' or 'os/arch/variant'"),
        ("linux/", "must be 'os/arch' or 'os/arch/variant'"),
        ("Linux/AMD64", "must be 'os/arch' or 'os/arch/variant'"),
        ("linux/amd64/v8/x", "must be 'os/arch' or 'os/arch/variant'"),
        ("linux/amd64 --push", "must be 'os/arch' or 'os/arch/variant'"),
        ("linux/amd64\n--destination=evil", "must be 'os/arch' or 'os/arch/variant'"),
        ("../etc/passwd", "must be 'os/arch' or 'os/arch/variant'"),
        ("linux/arm/7", "variant '7' must be 'v' and a number"),
        ("linux/arm/v7;rm", "variant 'v7;rm' must be 'v' and a number"),
        (42, "must be a string such as 'linux/amd64'"),
        (None, "must be a string such as 'linux/amd64'"),
    ],
)
def test_parse_refuses_hostile_values_naming_field_and_value(value, reason):
    with pytest.raises(KanikoSpecError) as err:
        parse_platform(value, field="images[0].platforms[1]")
    assert err.value.field == "images[0].platforms[1]"
    assert err.value.value == value
    assert reason in err.value.reason


def test_parse_platforms_keeps_order_and_refuses_empty_duplicates_and_strings():
    assert parse_platforms(["linux/arm64", "linux/amd64"]) == (Platform("linux", "arm64"), Platform("linux", "amd64"))
    for value, reason in [
        ([], "needs at least one platform"),
        (["linux/amd64", "linux/amd64"], "lists 'linux/amd64' twice"),
        ("linux/amd64", "must be a list of platforms"),
        ({"linux/amd64": 1}, "must be a list of platforms"),
    ]:
        with pytest.raises(KanikoSpecError, match=reason):
            parse_platforms(value)
    with pytest.raises(KanikoSpecError) as err:
        parse_platforms(["linux/amd64", "arm64"])
    assert err.value.field == "platforms[1]"


def test_node_selector_is_the_kubernetes_arch_label():
    assert node_selector(parse_platform("linux/arm64")) == {"kubernetes.io/arch": "arm64"}
    assert node_selector(parse_platform("linux/arm/v7")) == {"kubernetes.io/arch": "arm"}


def test_staging_tags_and_destinations():
    arm = parse_platform("linux/arm64")
    assert staging_tag("1.0", arm) == "1.0-linux-arm64"
    assert staging_tag("latest", parse_platform("linux/arm/v7")) == "latest-linux-arm-v7"
    long = "t" * 120
    assert staging_tag(long, arm) == "h" + hashlib.sha256(long.encode()).hexdigest()[:32] + "-linux-arm64"
    # One staging destination per repository, after its first tag; the spelling is kept.
    assert staging_destinations([f"{REG}/team/app:1.0", f"{REG}/team/app:latest", f"{REG}/other/app:x", "busybox:1"], arm) == [
        f"{REG}/team/app:1.0-linux-arm64",
        f"{REG}/other/app:x-linux-arm64",
        "busybox:1-linux-arm64",
    ]
    assert staging_destinations([f"{REG}/team/app"], arm) == [f"{REG}/team/app:latest-linux-arm64"]
    with pytest.raises(KanikoSpecError, match="must be a tag, not a digest"):
        staging_destinations([f"{REG}/team/app@{D1}"], arm)


def test_image_index_exact_bytes():
    body = index_document(
        [
            PlatformManifest(parse_platform("linux/amd64"), D1, 428, DOCKER),
            PlatformManifest(parse_platform("linux/arm/v7"), D2, 500, OCI),
        ]
    )
    assert body == (
        b'{"manifests":[{"digest":"' + D1.encode() + b'","mediaType":"' + DOCKER.encode() + b'",'
        b'"platform":{"architecture":"amd64","os":"linux"},"size":428},'
        b'{"digest":"' + D2.encode() + b'","mediaType":"' + OCI.encode() + b'",'
        b'"platform":{"architecture":"arm","os":"linux","variant":"v7"},"size":500}],'
        b'"mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2}'
    )
    assert json.loads(body)["mediaType"] == INDEX_MEDIA_TYPE


@pytest.mark.parametrize(
    ("manifests", "reason"),
    [
        ([], "needs at least one platform manifest"),
        ([PlatformManifest(parse_platform("linux/amd64"), D1, 1, "application/vnd.oci.image.index.v1+json")], "not an image"),
        ([PlatformManifest(parse_platform("linux/amd64"), "sha256:abc", 1, OCI)], "not a sha256 digest"),
        ([PlatformManifest(parse_platform("linux/amd64"), D1, 0, OCI)], "size must be a positive integer"),
        ([PlatformManifest(parse_platform("linux/amd64"), D1, 1, OCI)] * 2, "appears twice"),
    ],
)
def test_image_index_refuses_what_a_registry_would_not_take(manifests, reason):
    with pytest.raises(KanikoSpecError, match=reason):
        index_document(manifests)


def test_spec_renders_custom_platform_and_refuses_it_in_extra_args():
    spec = KanikoBuild(context="dir:///w", destinations=[f"{REG}/a:1"], platform="linux/arm64")
    assert spec.platform == Platform("linux", "arm64")
    assert [a for a in spec.args() if a.startswith("--custom-platform")] == ["--custom-platform=linux/arm64"]
    assert "--custom-platform" not in " ".join(KanikoBuild(context="dir:///w", destinations=[f"{REG}/a:1"]).args())
    with pytest.raises(KanikoSpecError, match="--custom-platform is set by the operator"):
        KanikoBuild(context="dir:///w", destinations=[f"{REG}/a:1"], extra_args=["--custom-platform=linux/arm64"])
    with pytest.raises(KanikoSpecError) as err:
        KanikoBuild(context="dir:///w", destinations=[f"{REG}/a:1"], platform="linux/arm64 --insecure")
    assert err.value.field == "platform"
