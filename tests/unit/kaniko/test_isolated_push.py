import re

import pytest

from airflow_kaniko.errors import KanikoSpecError, TerminationMessageError
from airflow_kaniko.kaniko.isolated_push import IsolatedPush, parse_pushed
from airflow_kaniko.kaniko.spec import KanikoBuild, RegistryCertificate

REG = "10.244.77.1:5000"
DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def build(**overrides):
    kwargs = {"context": "git://git.example.com/acme/app.git", "destinations": [f"{REG}/team/app:1", f"{REG}/team/app:latest"]}
    return KanikoBuild(**{**kwargs, **overrides})


def test_executor_never_pushes_and_leaves_the_image_in_the_shared_layout():
    assert IsolatedPush(build()).executor_args() == [
        "--context=git://git.example.com/acme/app.git",
        "--dockerfile=Dockerfile",
        f"--destination={REG}/team/app:1",
        f"--destination={REG}/team/app:latest",
        "--digest-file=/dev/termination-log",
        "--log-format=text",
        "--image-download-retry=3",
        "--no-push",
        "--oci-layout-path=/kaniko/output/image",
    ]


def test_one_crane_push_per_destination_writing_its_reference_to_the_termination_log():
    push = IsolatedPush(build())
    assert push.pusher_args(f"{REG}/team/app:latest") == [
        "push",
        "/kaniko/output/image",
        f"{REG}/team/app:latest",
        "--image-refs=/dev/termination-log",
    ]
    with pytest.raises(KanikoSpecError, match="is not one of this build's destinations"):
        push.pusher_args(f"{REG}/team/other:1")


def test_insecure_only_for_a_destination_on_an_insecure_registry():
    push = IsolatedPush(build(destinations=["plain.example:5000/a:1", f"{REG}/a:1"], insecure_registries=["plain.example:5000"]))
    assert push.pusher_args("plain.example:5000/a:1")[-1] == "--insecure"
    assert "--insecure" not in push.pusher_args(f"{REG}/a:1")


def test_pusher_env_points_crane_at_its_credentials_and_every_registry_ca():
    assert IsolatedPush(build()).pusher_env() == {"DOCKER_CONFIG": "/home/nonroot/.docker"}
    certs = [
        RegistryCertificate(REG, "/kaniko/registry-ca/0/ca.crt"),
        RegistryCertificate("other.example", "/kaniko/registry-ca/1/ca.crt"),
    ]
    assert IsolatedPush(build(registry_certificates=certs)).pusher_env() == {
        "DOCKER_CONFIG": "/home/nonroot/.docker",
        "SSL_CERT_DIR": "/registry-ca/0:/registry-ca/1",
    }


def test_cache_is_refused_because_kaniko_pushes_cache_layers_itself():
    with pytest.raises(KanikoSpecError, match="cache=True: cannot be used with isolate_push_credentials"):
        IsolatedPush(build(cache=True))


@pytest.mark.parametrize("arg", ["--oci-layout-path=/tmp/x", "--no-push-cache", "--skip-push-permission-check"])
def test_flags_that_would_undo_the_isolation_are_refused(arg):
    with pytest.raises(KanikoSpecError, match="extra_args="):
        IsolatedPush(build(extra_args=[arg]))


def test_pushers_are_named_in_destination_order_the_watched_one_first():
    assert IsolatedPush(build(destinations=[f"{REG}/a:1", f"{REG}/a:2", f"{REG}/b:1"])).pusher_names("push") == [
        "push",
        "push-1",
        "push-2",
    ]


def test_pushed_digest_is_the_executors_and_every_pushers():
    push = IsolatedPush(build())
    assert push.pushed_digest(DIGEST, [f"{REG}/team/app@{DIGEST}\n", f"{REG}/team/app@{DIGEST}"]) == DIGEST


@pytest.mark.parametrize(
    ("executor", "pushers", "error"),
    [
        (
            DIGEST,
            [f"{REG}/team/app@{DIGEST}", f"{REG}/team/app@{OTHER}"],
            f"says {REG}/team/app:latest got {OTHER}, but the executor built {DIGEST}",
        ),
        (
            OTHER,
            [f"{REG}/team/app@{DIGEST}", f"{REG}/team/app@{DIGEST}"],
            f"says {REG}/team/app:1 got {DIGEST}, but the executor built {OTHER}",
        ),
        (None, [f"{REG}/team/app@{DIGEST}", f"{REG}/team/app@{DIGEST}"], "the executor wrote no digest"),
        (DIGEST, [f"{REG}/team/app@{DIGEST}"], "has 1 pushers' messages for 2 destinations"),
        (DIGEST, [f"{REG}/team/app@{DIGEST}", None], "the pusher wrote no digest"),
    ],
)
def test_a_digest_that_differs_anywhere_is_an_error(executor, pushers, error):
    with pytest.raises(TerminationMessageError, match=re.escape(error)):
        IsolatedPush(build()).pushed_digest(executor, pushers)


@pytest.mark.parametrize(
    ("destination", "message"),
    [
        ("app:1", f"index.docker.io/library/app@{DIGEST}"),
        ("team/app", f"index.docker.io/team/app@{DIGEST}"),
        ("docker.io/team/app:1", f"index.docker.io/team/app@{DIGEST}"),
        (f"{REG}/team/app", f"{REG}/team/app@{DIGEST}"),
        ("localhost:5000/app:1.0", f"localhost:5000/app@{DIGEST}"),
    ],
)
def test_crane_spellings_of_a_repository(destination, message):
    assert parse_pushed(message, destination) == DIGEST


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("", "is empty"),
        (None, "is empty"),
        (DIGEST, "is not '<repository>@sha256:<64 hex>'"),
        (f"{REG}/team/app@sha256:abc", "is not '<repository>@sha256:<64 hex>'"),
        (f"{REG}/team/app@{DIGEST}\n{REG}/team/app@{DIGEST}", "is not '<repository>@sha256:<64 hex>'"),
        (f"{REG}/team/other@{DIGEST}", "names another repository than the destination"),
        ("Error: open /kaniko/output/image/index.json: permission denied", "is not '<repository>@sha256:<64 hex>'"),
    ],
)
def test_unreadable_pusher_messages(message, error):
    with pytest.raises(TerminationMessageError, match=error.replace("(", r"\(").replace("?", r"\?")):
        parse_pushed(message, f"{REG}/team/app:1")
