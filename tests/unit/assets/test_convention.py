"""The Asset URI convention and the event's extra (airflow_kaniko/kaniko/image_assets.py), and the URI handler
as Airflow's own Asset class runs it (registered under ``asset-uris`` in get_provider_info)."""

import pytest

from airflow_kaniko.assets.convention import ImageEvent, check_fingerprint, check_reason, image_events, image_uri
from airflow_kaniko.errors import KanikoSpecError

D = "sha256:" + "a1" * 32
D2 = "sha256:" + "b2" * 32
FP = "0f" * 32


@pytest.mark.parametrize(
    ("reference", "uri"),
    [
        ("registry.example.com/team/app:1.0", "oci://registry.example.com/team/app"),
        (f"10.244.77.1:5000/demo/hello:20261129@{D}", "oci://10.244.77.1:5000/demo/hello"),
        (f"ghcr.io/acme/app@{D}", "oci://ghcr.io/acme/app"),
        ("busybox", "oci://docker.io/library/busybox"),
        ("index.docker.io/busybox:1.36", "oci://docker.io/library/busybox"),
        ("registry-1.docker.io/acme/app", "oci://docker.io/acme/app"),
        ("Registry.Example.COM/team/app", "oci://registry.example.com/team/app"),  # hosts are case-insensitive
        ("localhost:5000/a/b/c", "oci://localhost:5000/a/b/c"),
        ("[::1]:5000/app", "oci://[::1]:5000/app"),
    ],
)
def test_image_uri_is_the_repository(reference, uri):
    assert image_uri(reference) == uri


@pytest.mark.parametrize("bad", ["", "Team/App", "app:1 --insecure", "reg.io/app:tåg"])
def test_image_uri_refuses_what_is_not_a_reference(bad):
    with pytest.raises(KanikoSpecError, match="image="):
        image_uri(bad)


@pytest.mark.parametrize(
    ("written", "uri"),
    [
        ("oci://registry.example.com/team/app", "oci://registry.example.com/team/app"),
        ("OCI://Registry.Example.com/team/app/", "oci://registry.example.com/team/app"),
        ("oci://index.docker.io/busybox", "oci://docker.io/library/busybox"),
        ("oci://docker.io/busybox#latest", "oci://docker.io/library/busybox"),  # Airflow drops fragments
        ("oci://10.244.77.1:5000/demo/hello", "oci://10.244.77.1:5000/demo/hello"),
    ],
)
def test_airflow_normalizes_oci_uris_with_our_handler(written, uri):
    from airflow.sdk import Asset

    assert Asset(uri=written).uri == uri
    assert Asset(uri=uri).normalized_uri == uri  # a known scheme: AIP-60 compliant


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("oci://reg.io/app:1.0", "without tag or digest .*: oci://reg.io/app$"),
        (f"oci://reg.io/app@{D}", "without tag or digest .*: oci://reg.io/app$"),
        ("oci://bot@reg.io/app", "no user or password"),
        ("oci://reg.io/app?tag=1", "no query"),
        ("oci://reg.io/Team/App", "not a repository name"),
        ("oci://reg.io", "not a repository name"),
        ("oci://reg_io/app", "not a registry host"),
    ],
)
def test_airflow_refuses_oci_uris_that_name_no_repository(written, message):
    from airflow.sdk import Asset

    with pytest.raises(ValueError, match=message):
        Asset(uri=written)


def test_every_uri_we_emit_is_already_in_airflows_normal_form():
    from airflow.sdk import Asset

    for reference in ("busybox", "Reg.IO:5000/a/b:1", f"ghcr.io/acme/app@{D}", "[::1]:5000/app"):
        uri = image_uri(reference)
        assert Asset(uri=uri).uri == uri == Asset(uri=uri).name


def test_one_event_per_repository_with_its_tags_in_order():
    images = [
        f"reg.io/team/app:1.0@{D}",
        f"reg.io/team/app:latest@{D}",
        f"mirror.example.com/team/app:1.0@{D}",
        f"reg.io/team/app:fp-{FP}@{D}",
    ]
    reason = {"kind": "base", "bases": [{"reference": "reg.io/base:1", "old": D2, "new": D}]}
    assert image_events(images, fingerprint=FP, reason=reason) == [
        ImageEvent(
            "oci://reg.io/team/app",
            {
                "image": f"reg.io/team/app@{D}",
                "digest": D,
                "tags": ["1.0", "latest", f"fp-{FP}"],
                "fingerprint": FP,
                "reason": reason,
            },
        ),
        ImageEvent(
            "oci://mirror.example.com/team/app",
            {"image": f"mirror.example.com/team/app@{D}", "digest": D, "tags": ["1.0"], "fingerprint": FP, "reason": reason},
        ),
    ]
    # Outside the maintenance DAG: no fingerprint, no reason, but every key is there.
    (event,) = image_events([f"busybox@{D}"])
    expected = {"image": f"docker.io/library/busybox@{D}", "digest": D, "tags": [], "fingerprint": None, "reason": None}
    assert event.extra == expected


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (["reg.io/app:1"], "no 'sha256:<64 hex>' digest"),
        ([f"reg.io/app:1@sha256:{'A1' * 32}"], "no 'sha256:<64 hex>' digest"),
        ([f"reg.io/app:1@{D}", f"reg.io/app:2@{D2}"], "another digest"),
        (["reg.io/app:1 --insecure@" + D], "not an image reference"),
    ],
)
def test_events_refuse_images_that_were_not_pushed_as_claimed(images, message):
    with pytest.raises(KanikoSpecError, match=message):
        image_events(images)


def test_reason_is_rebuilt_from_its_fields_and_redacted():
    detail = "registry reg.io: unauthorised (HTTP 401) as 'bot' with s3cret"
    reason = check_reason({"kind": "unverified", "detail": detail}, redact=lambda text: text.replace("s3cret", "***"))
    assert reason == {"kind": "unverified", "detail": "registry reg.io: unauthorised (HTTP 401) as 'bot' with ***"}
    assert check_reason({"kind": "parent", "parents": ["app"]}) == {"kind": "parent", "parents": ["app"]}
    assert check_reason(None) is None and check_reason({}) is None


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("forced", "must be a rebuild reason"),
        ({"kind": "nonsense"}, "must be a rebuild reason"),
        ({"detail": "x"}, "must be a rebuild reason"),
        ({"kind": "unchanged", "digest": D}, "is not a reason to build"),
        ({"kind": "forced", "password": "x"}, "unknown key 'password'"),
        ({"kind": "base", "bases": [{"reference": "r", "new": D, "token": "x"}]}, "must be a rebuild reason"),
        ({"kind": "settings", "detail": {"nested": "x"}}, "not a string"),
        ({"kind": "settings", "detail": "x" * 2001}, "at most 2000"),
    ],
)
def test_hostile_reasons_are_refused_naming_the_field(bad, message):
    with pytest.raises(KanikoSpecError, match=f"build_reason=.*{message}"):
        check_reason(bad)


@pytest.mark.parametrize("bad", ["F" * 64, "0f" * 31, 42, "x" * 64])
def test_fingerprint_is_64_lowercase_hex(bad):
    assert check_fingerprint(FP) == FP and check_fingerprint(None) is None
    with pytest.raises(KanikoSpecError, match="fingerprint="):
        check_fingerprint(bad)
