"""``Registry.delete_tag`` over HTTPS against a small registry that deletes as distribution does (issue 18, item 6).

``Distribution`` keeps manifests by digest and tags per repository; ``DELETE /v2/<repo>/manifests/<digest>``
removes the manifest and every tag on it, as distribution 2.8 does. Its ``mode`` is what it does with a DELETE
by tag: ``"2.8"`` answers 400 DIGEST_INVALID (Debian's docker-registry, the local cluster's), ``"oci"`` removes
the tag alone (OCI distribution 1.1), ``"disabled"`` answers 405 UNSUPPORTED to every DELETE (distribution
without ``storage.delete.enabled``), ``"greedy"`` deletes the whole manifest (a registry that gets it wrong).
"""

from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from airflow_kaniko.oci.registry_client import TOMBSTONE_ANNOTATION, Registry, RegistryError, tombstone
from tests.hostile_registry.servers import Server
from tests.hostile_registry.test_hostile_registry import PASSWORD, authorised, registry

IMAGE = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
_MANIFESTS = re.compile(r"/v2/(?P<repo>.+)/manifests/(?P<ref>[^/?]+)$")
_BLOBS = re.compile(r"/v2/(?P<repo>.+)/blobs/(?P<digest>sha256:[0-9a-f]{64})$")
_UPLOADS = re.compile(r"/v2/(?P<repo>.+)/blobs/uploads/(?P<id>[^/?]*)$")


def _sha256(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


class Distribution:
    def __init__(self, mode: str = "2.8") -> None:
        self.mode = mode
        self.manifests: dict[str, tuple[bytes, str]] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.blobs: set[str] = set()
        self.deleted: list[str] = []  # digests deleted, in order

    # what a test sets up
    def push(self, repo: str, body: bytes, media_type: str, *tags: str) -> str:
        digest = _sha256(body)
        config = json.loads(body).get("config")
        if config:
            self.blobs.add(config["digest"])  # a test's image comes with its config (a PUT was checked for it)
        self.manifests[digest] = (body, media_type)
        for tag in tags:
            self.tags.setdefault(repo, {})[tag] = digest
        return digest

    def tagged(self, repo: str) -> dict[str, str]:
        return dict(self.tags.get(repo, {}))

    def __call__(self, handler) -> None:
        if not authorised(handler):
            return
        path = urlsplit(handler.path).path
        if match := _MANIFESTS.fullmatch(path):
            return self._manifest(handler, match["repo"], match["ref"])
        if match := _BLOBS.fullmatch(path):
            if handler.command == "HEAD" and match["digest"] in self.blobs:
                return handler.send(200, headers={"Content-Length": "2"})
            return handler.send(404)
        if match := _UPLOADS.fullmatch(path):
            if handler.command == "POST":
                return handler.send(202, headers={"Location": f"{handler.server.url}/v2/{match['repo']}/blobs/uploads/u1"})
            digest = parse_qs(urlsplit(handler.path).query)["digest"][0]
            assert _sha256(handler.body) == digest
            self.blobs.add(digest)
            return handler.send(201)
        handler.send(404)

    def _manifest(self, handler, repo: str, ref: str) -> None:
        tags = self.tags.setdefault(repo, {})
        by_digest = ref.startswith("sha256:")
        digest = ref if by_digest else tags.get(ref)
        if handler.command in ("GET", "HEAD"):
            if digest not in self.manifests:
                return handler.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
            body, media_type = self.manifests[digest]
            return handler.send(200, body, {"Content-Type": media_type, "Docker-Content-Digest": digest})
        if handler.command == "PUT":
            document = json.loads(handler.body)
            for descriptor in [document.get("config"), *document.get("layers", [])]:
                if descriptor and descriptor["digest"] not in self.blobs:
                    return handler.send(400, b'{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN"}]}')
            digest = self.push(repo, handler.body, handler.headers["Content-Type"], *([] if by_digest else [ref]))
            return handler.send(201, headers={"Docker-Content-Digest": digest})
        # DELETE
        if self.mode == "disabled":
            return handler.send(405, b'{"errors":[{"code":"UNSUPPORTED"}]}')
        if not by_digest and self.mode == "2.8":
            return handler.send(400, b'{"errors":[{"code":"DIGEST_INVALID"}]}')
        if digest not in self.manifests:
            return handler.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
        if not by_digest and self.mode == "oci":
            del tags[ref]
            return handler.send(202)
        del self.manifests[digest]  # by digest, or a greedy registry by tag: the manifest and every tag on it
        self.deleted.append(digest)
        for tag in [t for t, d in tags.items() if d == digest]:
            del tags[tag]
        handler.send(202)


def _image(seed: str) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": IMAGE, "config": {"digest": _sha256(seed.encode())}}).encode()


@pytest.fixture
def distribution(pki, request):
    with Server(pki) as own:
        own.pki = pki
        own.answer = dist = Distribution(getattr(request, "param", "2.8"))
        dist.server = own  # what it received, for the tests that count requests
        with registry(own) as client:
            yield dist, client


def test_distribution_2_8_deletes_only_the_tag_through_a_tombstone(distribution):
    dist, client = distribution
    image = dist.push("app", _image("a"), IMAGE, "latest", "fp-1", "fp-1-20260101000000")
    assert client.delete_tag("app", "fp-1-20260101000000") == "deleted"
    # The image and its other tags stay; the only digest deleted is the tombstone's, not the image's.
    assert dist.tagged("app") == {"latest": image, "fp-1": image}
    assert image in dist.manifests
    assert len(dist.deleted) == 1 and dist.deleted[0] != image
    # A second tag goes straight to the tombstone (the 400 was learnt), with the config blob already there.
    dist.push("app", _image("b"), IMAGE, "fp-2-20260102000000")
    assert client.delete_tag("app", "fp-2-20260102000000") == "deleted"
    assert dist.tagged("app") == {"latest": image, "fp-1": image}
    deletes_by_tag = [r for r in dist.server.received if r.method == "DELETE" and "sha256:" not in r.path]
    assert len(deletes_by_tag) == 1


def test_a_staging_tag_goes_and_the_index_keeps_its_platform_manifest(distribution):
    dist, client = distribution
    platform = dist.push("app", _image("amd64"), IMAGE, "latest-linux-amd64")
    index = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": [{"digest": platform}]}).encode()
    index_digest = dist.push("app", index, INDEX, "latest", "fp-9")
    assert client.delete_tag("app", "latest-linux-amd64", expected=platform) == "deleted"
    assert dist.tagged("app") == {"latest": index_digest, "fp-9": index_digest}
    assert platform in dist.manifests and index_digest in dist.manifests


@pytest.mark.parametrize("distribution", ["oci"], indirect=True)
def test_an_oci_1_1_registry_deletes_the_tag_itself_no_tombstone(distribution):
    dist, client = distribution
    image = dist.push("app", _image("a"), IMAGE, "latest", "fp-1-20260101000000")
    assert client.delete_tag("app", "fp-1-20260101000000") == "deleted"
    assert dist.tagged("app") == {"latest": image}
    assert dist.deleted == []
    assert [r.method for r in dist.server.received if r.method in ("PUT", "POST")] == []


def test_a_tag_that_moved_or_is_gone_is_left(distribution):
    dist, client = distribution
    old = dist.push("app", _image("a"), IMAGE, "x")
    new = dist.push("app", _image("b"), IMAGE, "stage")
    assert client.delete_tag("app", "stage", expected=old) == "moved"
    assert client.delete_tag("app", "nothing-here") == "absent"
    assert dist.tagged("app") == {"x": old, "stage": new}
    assert dist.deleted == []


def test_a_tag_moved_between_the_look_and_the_tombstone_is_left(distribution, monkeypatch):
    dist, client = distribution
    dist.push("app", _image("a"), IMAGE, "stage")
    moved = dist.push("app", _image("b"), IMAGE)
    looks = []
    real = Registry.digest

    def digest(self, repository, reference):
        looks.append(reference)
        if len(looks) == 2:  # after the DELETE by tag was refused, before the tombstone: someone pushes
            dist.tags["app"]["stage"] = moved
        return real(self, repository, reference)

    monkeypatch.setattr(Registry, "digest", digest)
    assert client.delete_tag("app", "stage") == "moved"
    assert dist.tagged("app") == {"stage": moved}
    assert dist.deleted == []


@pytest.mark.parametrize("distribution", ["disabled"], indirect=True)
def test_a_registry_without_deletes_gets_its_tag_back_and_an_error_that_says_so(distribution):
    dist, client = distribution
    image = dist.push("app", _image("a"), IMAGE, "latest", "fp-1-20260101000000")
    with pytest.raises(RegistryError) as caught:
        client.delete_tag("app", "fp-1-20260101000000")
    message = str(caught.value)
    assert message.startswith(f"registry {client.host}: app:fp-1-20260101000000: not deleted: the registry refuses DELETE")
    assert "storage.delete.enabled: true" in message and f"the tag names {image} again" in message
    assert PASSWORD not in message
    assert dist.tagged("app") == {"latest": image, "fp-1-20260101000000": image}
    # Learnt: the next tag fails without a request.
    before = len(dist.server.received)
    with pytest.raises(RegistryError, match="not deleted: the registry refuses DELETE"):
        client.delete_tag("app", "latest")
    assert len(dist.server.received) == before


@pytest.mark.parametrize("distribution", ["greedy"], indirect=True)
def test_a_registry_that_deletes_the_image_on_delete_by_tag_is_named_and_not_used_again(distribution):
    dist, client = distribution
    dist.push("app", _image("a"), IMAGE, "latest", "one")
    second = dist.push("app", _image("b"), IMAGE, "keep", "two")
    with pytest.raises(RegistryError, match="deleted the image sha256:[0-9a-f]{64} itself on DELETE by tag"):
        client.delete_tag("app", "one")
    assert client.delete_tag("app", "two") == "deleted"  # by tombstone now: "keep" stays
    assert dist.tagged("app") == {"keep": second}


@pytest.mark.parametrize("reference", ["sha256:" + "a" * 64, "bad tag", ""])
def test_only_tags_are_deleted(distribution, reference):
    _, client = distribution
    with pytest.raises(RegistryError, match="is not a tag"):
        client.delete_tag("app", reference)


def test_a_tombstone_is_unique_and_names_its_tag():
    one, two = tombstone("fp-1-x"), tombstone("fp-1-x")
    assert one.digest != two.digest
    assert one.json()["annotations"][TOMBSTONE_ANNOTATION] == "fp-1-x"
    assert one.json()["layers"] == [] and one.json()["config"]["size"] == 2
