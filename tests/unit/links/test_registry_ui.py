import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.links import registry_ui
from airflow_kaniko.oci.reference import ImageReference, parse_reference

D = "sha256:" + "ab" * 32
HARBOR = "https://harbor.example.com/harbor/projects/7/repositories/{name}/artifacts-tab/artifacts/{digest}"


@pytest.mark.parametrize(
    ("ref", "parts"),
    [
        ("busybox", ("docker.io", "library/busybox", None, None)),
        ("index.docker.io/busybox:1.36", ("docker.io", "library/busybox", "1.36", None)),
        (f"registry-1.docker.io/acme/app:1@{D}", ("docker.io", "acme/app", "1", D)),
        ("registry.hub.docker.com/acme/app", ("docker.io", "acme/app", None, None)),
        ("ghcr.io/owner/tools/cli:v2", ("ghcr.io", "owner/tools/cli", "v2", None)),
        (f"10.244.77.1:5000/demo/hello@{D}", ("10.244.77.1:5000", "demo/hello", None, D)),
        ("localhost/app", ("localhost", "app", None, None)),
    ],
)
def test_parse_reference(ref, parts):
    assert parse_reference(ref) == ImageReference(*parts)


@pytest.mark.parametrize("bad", ["", "team/UPPER", "app:tag with space", "a" * 300, None, "app@sha256:short"])
def test_parse_reference_refuses(bad):
    with pytest.raises(ValueError):
        parse_reference(bad)


@pytest.mark.parametrize(
    ("image", "url"),
    [
        (f"ghcr.io/osscontainertools/kaniko:v1.28.3@{D}", "https://ghcr.io/osscontainertools/kaniko"),
        (f"docker.io/acme/app:1.0@{D}", f"https://hub.docker.com/layers/acme/app/1.0/images/sha256-{'ab' * 32}"),
        (f"busybox:latest@{D}", f"https://hub.docker.com/layers/library/busybox/latest/images/sha256-{'ab' * 32}"),
        (f"index.docker.io/library/python@{D}", "https://hub.docker.com/_/python"),
        (f"acme/app@{D}", "https://hub.docker.com/r/acme/app"),
        (f"quay.io/acme/app:1@{D}", f"https://quay.io/repository/acme/app/manifest/{D}"),
        ("quay.io/acme/app:1", "https://quay.io/repository/acme/app?tab=tags"),
        # no UI, or a path the UI cannot show: no link rather than a dead one
        (f"10.244.77.1:5000/demo/hello:1@{D}", ""),
        (f"harbor.example.com/team/app:1@{D}", ""),
        (f"docker.io/a/b/c:1@{D}", ""),
        (f"quay.io/a/b/c@{D}", ""),
        ("not a reference", ""),
    ],
)
def test_builtin_pages(image, url):
    assert registry_ui.image_url(image) == url


def test_template_for_its_own_registry_only():
    image = f"harbor.example.com/team/app:1@{D}"
    expected = f"https://harbor.example.com/harbor/projects/7/repositories/app/artifacts-tab/artifacts/{D}"
    assert registry_ui.image_url(image, HARBOR, "harbor.example.com") == expected
    assert registry_ui.image_url(image, HARBOR, "https://harbor.example.com/") == expected
    assert registry_ui.image_url(f"other.example.com/team/app@{D}", HARBOR, "harbor.example.com") == ""
    # a template beats the built-in page of its own registry
    assert (
        registry_ui.image_url(f"quay.io/acme/app@{D}", "https://mirror.example.com/{repository}", "quay.io")
        == "https://mirror.example.com/acme/app"
    )


def test_every_placeholder():
    template = "https://{registry}/ui?r={repository}&ns={namespace}&n={name}&t={tag}&d={digest}"
    ref = parse_reference(f"[::1]:5000/team/sub/app:v1.0@{D}")
    assert registry_ui.render_template(template, ref) == f"https://[::1]:5000/ui?r=team/sub/app&ns=team&n=sub/app&t=v1.0&d={D}"
    assert registry_ui.render_template(template, parse_reference("reg.io/app")) == "https://reg.io/ui?r=app&ns=&n=app&t=&d="


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("javascript:alert(1)//{digest}", "must start with https://"),
        ("data:text/html,{digest}", "must start with https://"),
        ("//evil.example.com/{digest}", "must start with https://"),
        ("https://{repository}/x", "must start with https://"),
        ("https://{tag}.example.com/", "must start with https://"),
        ("https://ui.example.com/{digest.__class__}", "uses {digest.__class__}"),
        ("https://ui.example.com/{digest[0]}", "uses {digest[0]}"),
        ("https://ui.example.com/{digest!r}", "uses {digest!r}"),
        ("https://ui.example.com/{digest:>99999}", "uses {digest:>99999}"),
        ("https://ui.example.com/{password}", "uses {password}"),
        ("https://ui.example.com/{0}", "uses {0}"),
        ("https://ui.example.com/{}", "uses {}"),
        ('https://ui.example.com/"onmouseover="x', "only URL characters"),
        ("https://ui.example.com/<script>", "only URL characters"),
        ("https://ui.example.com/a b", "only URL characters"),
        ("https://ui.example.com/\n{digest}", "only URL characters"),
        ("https://ui.example.com/{{digest}}", "only URL characters"),
        ("https://ui.example.com/{digest", "not a valid template"),
        ("https://ui.example.com/" + "a" * 3000, "longer than 2048"),
        ("", "non-empty string"),
        (["https://x"], "non-empty string"),
    ],
)
def test_hostile_templates_are_refused(template, reason):
    with pytest.raises(KanikoSpecError, match="image_url_template") as err:
        registry_ui.check_template(template)
    assert reason in str(err.value)


# Issue 17, item 6: a link is shown to everyone who sees the task, and a refused template is logged.
@pytest.mark.parametrize(
    "template",
    [
        "https://robot:S3cret-pw@harbor.example.com/{digest}",
        "https://robot@harbor.example.com/{digest}",
        "http://robot:S3cret-pw@{registry}/{digest}",
        "https:/robot:S3cret-pw@harbor.example.com/{digest}",  # a browser still reads a host after one slash
        "robot:S3cret-pw@harbor.example.com/{digest}",
        "ftp://robot:S3cret-pw@harbor.example.com/" + "a" * 3000,  # checked before anything that would echo it
    ],
)
def test_template_with_userinfo_is_refused_without_echo(template):
    with pytest.raises(KanikoSpecError) as err:
        registry_ui.check_template(template)
    assert (err.value.field, err.value.value) == ("image_url_template", "<redacted: has userinfo>")
    assert "robot" not in str(err.value) and "S3cret" not in str(err.value)
    with pytest.raises(KanikoSpecError, match="userinfo"):
        registry_ui.image_url(f"harbor.example.com/team/app@{D}", template, "harbor.example.com")


def test_an_at_sign_after_the_host_is_a_path():
    ref = parse_reference(f"harbor.example.com/team/app@{D}")
    url = registry_ui.render_template("https://harbor.example.com/ui/{repository}@{digest}", ref)
    assert url == f"https://harbor.example.com/ui/team/app@{D}"


def test_values_are_quoted():
    # The reference grammar already keeps these out; quoting is the second line, tested on a hand-made reference.
    ref = ImageReference("harbor.example.com", "team/a?b#c", "t&x=1", "sha256:/../x")
    url = registry_ui.render_template("https://harbor.example.com/{namespace}/{name}?tag={tag}&d={digest}", ref)
    assert url == "https://harbor.example.com/team/a%3Fb%23c?tag=t%26x%3D1&d=sha256:%2F..%2Fx"


def test_same_registry():
    assert registry_ui.same_registry("https://index.docker.io/v1/", "docker.io")
    assert registry_ui.same_registry("Harbor.Example.com:443", "harbor.example.com:443")
    assert not registry_ui.same_registry("harbor.example.com:443", "harbor.example.com")
