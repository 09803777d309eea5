from datetime import timedelta

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko.spec import KanikoBuild, RegistryCertificate

REG = "registry.example.com:5000"


def build(**overrides):
    fields = {"context": "git://github.com/acme/app.git#refs/heads/main", "destinations": [f"{REG}/team/app:1.0"]}
    return KanikoBuild(**{**fields, **overrides})


def test_args_minimal():
    assert build().args() == [
        "--context=git://github.com/acme/app.git#refs/heads/main",
        "--dockerfile=Dockerfile",
        f"--destination={REG}/team/app:1.0",
        "--digest-file=/dev/termination-log",
        "--log-format=text",
        "--push-retry=3",
        "--image-download-retry=3",
    ]


def test_args_every_field_in_order():
    spec = build(
        context="/dags/images/app",
        destinations=[f"{REG}/team/app:1.0", f"{REG}/team/app:latest"],
        dockerfile="docker/Dockerfile.prod",
        build_args={"PY": "3.12", "EMPTY": ""},
        labels={"org.opencontainers.image.title": "app"},
        target="runtime",
        cache=True,
        cache_repo=f"{REG}/cache/app",
        cache_ttl="168h",
        insecure_registries=["mirror.local:5000"],
        registry_certificates=[RegistryCertificate(REG, "/kaniko/registry-ca/0/ca.crt")],
        extra_args=["--snapshot-mode=redo", "--compressed-caching=false", "--reproducible"],
        name="app",
    )
    assert spec.args() == [
        "--context=tar:///workspace/context.tar.gz",
        "--dockerfile=docker/Dockerfile.prod",
        f"--destination={REG}/team/app:1.0",
        f"--destination={REG}/team/app:latest",
        "--digest-file=/dev/termination-log",
        "--log-format=text",
        "--build-arg=PY=3.12",
        "--build-arg=EMPTY=",
        "--label=org.opencontainers.image.title=app",
        "--target=runtime",
        "--cache=true",
        f"--cache-repo={REG}/cache/app",
        "--cache-ttl=168h",
        "--insecure-registry=mirror.local:5000",
        f"--registry-certificate={REG}=/kaniko/registry-ca/0/ca.crt",
        "--push-retry=3",
        "--image-download-retry=3",
        "--snapshot-mode=redo",
        "--compressed-caching=false",
        "--reproducible",
    ]


def test_registry_retries_default_to_three_unless_extra_args_set_them():
    spec = build(extra_args=["--push-retry=0", "--reproducible"])
    assert [a for a in spec.args() if "retry" in a] == ["--image-download-retry=3", "--push-retry=0"]
    assert spec.args()[-2:] == ["--push-retry=0", "--reproducible"]


def test_hostile_values_stay_single_argv_items():
    hostile = 'x\' ; rm -rf / ; echo "$(id)" `id`\n--insecure'
    spec = build(build_args={"EVIL": hostile}, labels={"evil": hostile})
    args = spec.args()
    assert f"--build-arg=EVIL={hostile}" in args
    assert f"--label=evil={hostile}" in args
    assert "--insecure" not in args


def test_images_keep_tags():
    spec = build(destinations=[f"{REG}/a:1", f"{REG}/a:latest", "busybox"])
    digest = "sha256:" + "a" * 64
    assert spec.images(digest) == [f"{REG}/a:1@{digest}", f"{REG}/a:latest@{digest}", f"busybox@{digest}"]


def test_single_string_destination_and_timedelta_ttl():
    spec = build(destinations=f"{REG}/a:1", cache=True, cache_ttl=timedelta(days=7))
    assert spec.destinations == (f"{REG}/a:1",)
    assert spec.cache_ttl == "604800s"


def test_local_context_detection():
    assert build(context="images/app").is_local_context
    assert not build(context="dir:///workspace").is_local_context
    assert build(context="images/app").executor_context("/workspace/context-3.tar.gz") == "tar:///workspace/context-3.tar.gz"


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"destinations": []}, "destinations", "at least one"),
        ({"destinations": [f"{REG}/app:1 --insecure"]}, "destinations", "not a valid image reference"),
        ({"destinations": ["team/App:1"]}, "destinations", "not a valid image reference"),
        ({"destinations": [f"{REG}/app:bad tag"]}, "destinations", "not a valid image reference"),
        ({"destinations": [f"{REG}/app@sha256:{'a' * 64}"]}, "destinations", "not a digest"),
        ({"destinations": [f"{REG}/a:1", f"{REG}/a:1"]}, "destinations", "twice"),
        ({"destinations": [f"{REG}/app:" + "t" * 129]}, "destinations", "not a valid image reference"),
        ({"destinations": {"a": "b"}}, "destinations", "list of image references"),
        ({"context": ""}, "context", "non-empty"),
        ({"context": "ftp://host/ctx.tar.gz"}, "context", "unknown scheme"),
        ({"context": "https://example.com/ctx.tar.gz"}, "context", "Azure Blob"),
        ({"context": "dir://relative/path"}, "context", "absolute path"),
        ({"context": "git://"}, "context", "location after the scheme"),
        ({"context": "s3:///no-bucket"}, "context", "host or bucket"),
        ({"context": "git://h/r.git#a#b#c"}, "context", "at most"),
        ({"context": "ctx\n--insecure"}, "context", "control characters"),
        ({"build_args": {"1BAD": "x"}}, "build_args key", "not a valid name"),
        ({"build_args": {"A B": "x"}}, "build_args key", "not a valid name"),
        ({"build_args": {"A": None}}, "build_args[A]", "string or a number"),
        ({"build_args": ["A=1"]}, "build_args", "mapping"),
        ({"labels": {"bad key": "x"}}, "labels key", "not a valid name"),
        ({"labels": {"=x": "x"}}, "labels key", "not a valid name"),
        ({"target": "bad target"}, "target", "stage name"),
        ({"cache": "yes"}, "cache", "true or false"),
        ({"cache_repo": f"{REG}/cache"}, "cache_repo", "cache is false"),
        ({"cache": True, "cache_repo": f"{REG}/cache:tag"}, "cache_repo", "without tag"),
        ({"cache": True, "cache_ttl": "a week"}, "cache_ttl", "duration"),
        ({"insecure_registries": ["http://mirror"]}, "insecure_registries", "registry host"),
        ({"extra_args": "--reproducible"}, "extra_args", "not one string"),
        ({"extra_args": ["--verbosity", "debug"]}, "extra_args", "'--flag' or '--flag=value'"),
        ({"extra_args": ["-v=debug"]}, "extra_args", "'--flag' or '--flag=value'"),
        ({"extra_args": ["--destination=evil/x:1"]}, "extra_args", "set by the operator"),
        ({"extra_args": ["--digest-file=/tmp/x"]}, "extra_args", "set by the operator"),
        ({"extra_args": ["--log-format=color"]}, "extra_args", "set by the operator"),
        ({"extra_args": ["--verbosity=debug\n--insecure"]}, "extra_args", "control characters"),
        ({"extra_args": ["--no-push"]}, "extra_args", "set by the operator"),
        ({"name": "Bad Name"}, "name", "lowercase"),
        ({"dockerfile": ""}, "dockerfile", "non-empty"),
    ],
)
def test_invalid_input_names_field_and_value(overrides, field, reason):
    with pytest.raises(KanikoSpecError) as info:
        build(**overrides)
    assert info.value.field == field
    assert reason in info.value.reason
    assert str(info.value).startswith(f"{field}=")


def test_error_message_shows_the_bad_value():
    with pytest.raises(KanikoSpecError, match=r"destinations='repo/app:1 --insecure': is not a valid image reference"):
        build(destinations=["repo/app:1 --insecure"])


def test_bad_registry_certificate():
    with pytest.raises(KanikoSpecError) as info:
        build(registry_certificates=[RegistryCertificate("http://x", "/ca.crt")])
    assert info.value.field == "registry_ca.registry"


@pytest.mark.parametrize("certificates", [None, 3, "/ca.crt", {"registry": REG}])
def test_registry_certificates_must_be_a_list(certificates):
    with pytest.raises(KanikoSpecError, match="must be a list of RegistryCertificate items") as info:
        build(registry_certificates=certificates)
    assert info.value.field == "registry_certificates"


# Issue 8, item 4: flags that defeat TLS or send pulls elsewhere, in any spelling pflag accepts.
@pytest.mark.parametrize(
    "arg",
    [
        "--insecure",
        "--insecure=true",
        "--insecure=false",
        "--insecure-pull",
        "--skip-tls-verify",
        "--skip-tls-verify=1",
        "--skip-tls-verify-pull",
        "--skip-tls-verify-registry=registry.example.com:5000",
        "--registry-mirror=mirror.evil.example",
        "--registry-map=index.docker.io=mirror.evil.example",
    ],
)
def test_tls_defeating_and_pull_redirecting_flags_refused(arg):
    with pytest.raises(KanikoSpecError) as info:
        build(extra_args=["--snapshot-mode=redo", arg])
    assert info.value.field == "extra_args" and info.value.value == arg
    assert "TLS" in info.value.reason or "redirects" in info.value.reason


# Issue 17, item 5: a --git value that turns off TLS for a clone that carries GIT_PASSWORD, in every
# spelling of true that Go's strconv.ParseBool (Kaniko's reader of --git values) accepts, and what it can't parse.
@pytest.mark.parametrize(
    "arg",
    [
        "--git=insecure-skip-tls=true",
        "--git=insecure-skip-tls=1",
        "--git=insecure-skip-tls=t",
        "--git=insecure-skip-tls=TRUE",
        "--git=insecure-skip-tls=True",
        "--git=insecure-skip-tls=yes",
        "--git=insecure-skip-tls=",
        "--git=insecure-skip-tls",
    ],
)
def test_git_option_that_skips_tls_refused(arg):
    with pytest.raises(KanikoSpecError) as info:
        build(extra_args=["--snapshot-mode=redo", arg])
    assert info.value.field == "extra_args" and info.value.value == arg
    assert info.value.reason == (
        "--git insecure-skip-tls defeats TLS verification of the git clone, which carries the git credentials; "
        "serve the repository over https with a certificate the executor trusts"
    )


@pytest.mark.parametrize(
    "arg",
    [
        "--git=branch=main",
        "--git=single-branch=true",
        "--git=recurse-submodules=true",
        "--git=insecure-skip-tls=false",
        "--git=insecure-skip-tls=0",
        "--git=branch=insecure-skip-tls=true",  # the branch named 'insecure-skip-tls=true'
    ],
)
def test_other_git_options_accepted(arg):
    assert build(extra_args=[arg]).args()[-1] == arg


@pytest.mark.parametrize("arg", ["--INSECURE", "--Insecure=true", "--skip_tls_verify", "-insecure", "--insecure true"])
def test_other_spellings_refused_by_the_flag_grammar(arg):
    with pytest.raises(KanikoSpecError, match="'--flag' or '--flag=value'"):
        build(extra_args=[arg])


@pytest.mark.parametrize(
    "arg", ["--cache-dir=/cache", "--cache-run-layers=false", "--cache-copy-layers", "--cache=true", "--cache-ttl=1h"]
)
def test_every_cache_flag_refused(arg):
    with pytest.raises(KanikoSpecError) as info:
        build(extra_args=[arg])
    assert info.value.field == "extra_args" and "cache" in info.value.reason


def test_registry_mirrors_typed_parameter():
    spec = build(registry_mirrors=["mirror.example.com", "10.0.0.5:5000"])
    assert spec.args()[-4:-2] == ["--registry-mirror=mirror.example.com", "--registry-mirror=10.0.0.5:5000"]
    assert build(registry_mirrors="mirror.example.com").registry_mirrors == ("mirror.example.com",)


@pytest.mark.parametrize(
    "mirror",
    ["http://mirror.example.com", "mirror.example.com --insecure", "mirror.example.com=evil", "", "mirror.example.com/path"],
)
def test_registry_mirrors_must_be_hosts(mirror):
    with pytest.raises(KanikoSpecError) as info:
        build(registry_mirrors=[mirror])
    assert info.value.field == "registry_mirrors" and info.value.value == mirror


# Issue 8, item 7: the Dockerfile stays inside the context, whatever the context is.
@pytest.mark.parametrize(
    "context",
    [
        "git://github.com/acme/app.git#refs/heads/main",
        "s3://bucket/ctx.tar.gz",
        "gs://bucket/ctx.tar.gz",
        "dir:///workspace",
        "tar:///workspace/c.tar.gz",
        "images/app",
    ],
)
@pytest.mark.parametrize(
    "dockerfile", ["/kaniko/.docker/config.json", "../.docker/config.json", "sub/../../Dockerfile", "..", "a/.."]
)
def test_dockerfile_outside_the_context_refused_for_every_context(context, dockerfile):
    with pytest.raises(KanikoSpecError) as info:
        build(context=context, dockerfile=dockerfile)
    assert info.value.field == "dockerfile" and info.value.value == dockerfile


# Issue 17, item 4: a URL is not a path in the context; Kaniko would fetch an http(s):// one and build it.
@pytest.mark.parametrize(
    "context",
    [
        "git://github.com/acme/app.git#refs/heads/main",
        "s3://bucket/ctx.tar.gz",
        "gs://bucket/ctx.tar.gz",
        "https://acct.blob.core.windows.net/c/ctx.tar.gz",
        "dir:///workspace",
        "tar:///workspace/c.tar.gz",
        "images/app",
    ],
)
@pytest.mark.parametrize(
    "dockerfile",
    [
        "http://evil.example/Dockerfile",
        "https://evil.example/Dockerfile",
        "HTTPS://evil.example/Dockerfile",
        "file:///kaniko/.docker/config.json",
        "ftp://evil.example/Dockerfile",
        "git+ssh://evil.example/Dockerfile",
    ],
)
def test_dockerfile_url_refused_for_every_context(context, dockerfile):
    with pytest.raises(KanikoSpecError) as info:
        build(context=context, dockerfile=dockerfile)
    assert (info.value.field, info.value.value) == ("dockerfile", dockerfile)
    assert info.value.reason == "must be a path relative to the context, not a URL"


@pytest.mark.parametrize("dockerfile", ["docker/http:/Dockerfile", "Dockerfile.https", "a:b/Dockerfile", "sub/x://y"])
def test_dockerfile_names_that_only_look_like_urls_accepted(dockerfile):
    assert f"--dockerfile={dockerfile}" in build(dockerfile=dockerfile).args()


@pytest.mark.parametrize(
    "arg", ["--context-sub-path=../.docker", "--context-sub-path=/kaniko/.docker", "--context-sub-path", "--bucket=evil"]
)
def test_flags_that_move_the_context_refused(arg):
    with pytest.raises(KanikoSpecError) as info:
        build(extra_args=[arg])
    assert info.value.field == "extra_args"


def test_dockerfile_and_sub_path_inside_the_context_accepted():
    spec = build(dockerfile="./docker/Dockerfile.prod", extra_args=["--context-sub-path=services/api"])
    assert "--dockerfile=./docker/Dockerfile.prod" in spec.args() and "--context-sub-path=services/api" in spec.args()


# Issue 8, item 8: the reference grammar is ASCII, as the OCI distribution spec says.
@pytest.mark.parametrize(
    "dest", [f"{REG}/team/app:tåg٣", f"{REG}/team/app:٣", f"{REG}/team/app:ｔａｇ", f"{REG}/team/app:a\u0301"]
)
def test_unicode_tags_refused(dest):
    with pytest.raises(KanikoSpecError) as info:
        build(destinations=[dest])
    assert info.value.field == "destinations"
