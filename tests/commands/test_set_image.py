"""`rollgen set-image`: only the image's bytes change, whatever the YAML style; refusals leave the file as it was."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from generator.gitops.messages import parse_trailers
from tests.conftest import git
from tests.factories import ConfigRepo

V1 = "ghcr.io/kmaster8/hello:v1"
V2 = "ghcr.io/kmaster8/hello:v2"
DIGEST = "ghcr.io/kmaster8/hello:v2@sha256:" + "a" * 64

BLOCK = """\
# yaml-language-server: $schema=../schemas/release.schema.json
# The hello app: comments, blank lines and odd spacing must all survive.
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata:
  name: hello
  namespace: test

spec:
  engine: nginx
  progression: git
  image: "ghcr.io/kmaster8/hello:v1"   # bumped by CI
  replicas:   4
  containerPort: 5050
  service: {port: 5000}
  ingress: {host: hello.example.com}
  strategy:
    canary:
      steps:
        - {weight: 10, pause: 5m}
        - {weight: 50}


  environments:
    - name: staging     # first
      profile: staging
      namespace: test-staging
    - {name: prod, profile: prod}
"""

FLOW = (
    "apiVersion: rollgen.io/v1alpha1\nkind: Release\nmetadata: {name: hello, namespace: test}\n"
    "spec: {engine: nginx, progression: git, image: 'ghcr.io/kmaster8/hello:v1', containerPort: 5050,"
    " service: {port: 5000}, ingress: {host: hello.example.com},"
    " strategy: {canary: {steps: [{weight: 10, pause: 5m}, {weight: 50}]}},"
    " environments: [{name: prod, profile: prod}]}\n"
)


def changed_lines(before: bytes, after: bytes) -> list[tuple[str, str]]:
    """(old line, new line) pairs of a diff whose every hunk replaces lines one for one."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    pairs = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        assert tag == "replace" and i2 - i1 == j2 - j1, (tag, old[i1:i2], new[j1:j2])
        pairs += [(o.decode(), n.decode()) for o, n in zip(old[i1:i2], new[j1:j2])]
    return pairs


def set_image(repo: ConfigRepo, text: bytes, *args: str) -> tuple[int, bytes, str, str]:
    repo.spec.parent.mkdir(exist_ok=True)
    repo.spec.write_bytes(text)
    git(repo.path, "add", "releases")
    git(repo.path, "commit", "-q", "--allow-empty", "-m", "spec")
    code, out, err = repo.rollgen("set-image", "hello", *args)
    return code, repo.spec.read_bytes(), out, err


def test_block_style_only_the_value_changes(repo: ConfigRepo) -> None:
    before = BLOCK.encode()
    code, after, out, err = set_image(repo, before, V2)
    assert code == 0, err
    assert changed_lines(before, after) == [
        ('  image: "ghcr.io/kmaster8/hello:v1"   # bumped by CI\n', '  image: "ghcr.io/kmaster8/hello:v2"   # bumped by CI\n')
    ]
    assert "image ghcr.io/kmaster8/hello:v1 -> ghcr.io/kmaster8/hello:v2" in out
    assert git(repo.path, "status", "--porcelain") == " M releases/hello.yaml\n"  # not committed without --commit


@pytest.mark.parametrize("transform", ["crlf", "bom", "bom+crlf"])
def test_crlf_and_bom_are_kept(repo: ConfigRepo, transform: str) -> None:
    text = BLOCK.replace("\n", "\r\n") if "crlf" in transform else BLOCK
    before = (b"\xef\xbb\xbf" if "bom" in transform else b"") + text.encode()
    code, after, _, err = set_image(repo, before, V2)
    assert code == 0, err
    assert after == before.replace(b"hello:v1", b"hello:v2")
    assert after.count(b"\r\n") == before.count(b"\r\n") and after[:3] == before[:3]


def test_flow_maps_keep_their_quotes(repo: ConfigRepo) -> None:
    before = FLOW.encode()
    code, after, _, err = set_image(repo, before, V2)
    assert code == 0, err
    assert after == before.replace(b"'ghcr.io/kmaster8/hello:v1'", b"'ghcr.io/kmaster8/hello:v2'")


def test_env_image_added_in_block_style(repo: ConfigRepo) -> None:
    before = BLOCK.encode()
    code, after, _, err = set_image(repo, before, V2, "--env", "staging")
    assert code == 0, err
    assert after == before.replace(
        b"    - name: staging     # first\n", b"    - name: staging     # first\n      image: " + V2.encode() + b"\n"
    )


def test_env_image_added_in_flow_style_and_then_replaced(repo: ConfigRepo) -> None:
    before = BLOCK.replace("\n", "\r\n").encode()
    code, after, _, err = set_image(repo, before, V2, "--env", "prod")
    assert code == 0, err
    assert after == before.replace(b"{name: prod, profile: prod}", b"{name: prod, image: " + V2.encode() + b", profile: prod}")
    code, _, _ = repo.rollgen("set-image", "hello", DIGEST, "--env", "prod")
    assert code == 0
    assert repo.spec.read_bytes() == after.replace(V2.encode(), DIGEST.encode())


def test_block_env_added_with_crlf(repo: ConfigRepo) -> None:
    before = BLOCK.replace("\n", "\r\n").encode()
    code, after, _, err = set_image(repo, before, V2, "--env", "staging")
    assert code == 0, err
    assert b"      image: ghcr.io/kmaster8/hello:v2\r\n      profile: staging\r\n" in after
    assert after.count(b"\n") == after.count(b"\r\n") == before.count(b"\r\n") + 1


def test_commit_commits_the_spec_alone_with_a_trailer(repo: ConfigRepo) -> None:
    set_image(repo, BLOCK.encode(), V1)
    (repo.path / "other.txt").write_text("staged, not ours\n")
    git(repo.path, "add", "other.txt")
    code, out, err = repo.rollgen("set-image", "hello", V2, "--commit")
    assert code == 0, err
    assert git(repo.path, "show", "--name-only", "--format=", "HEAD").split() == ["releases/hello.yaml"]
    message = git(repo.path, "log", "-1", "--format=%B")
    assert message.startswith("hello: set image ghcr.io/kmaster8/hello:v2\n")
    assert parse_trailers(message) == {
        "Rollgen-Release": "hello",
        "Rollgen-Action": "set-image",
        "Rollgen-Image": V2,
    }
    assert git(repo.path, "log", "-1", "--format=%an").strip() == "rollgen bot"
    assert git(repo.path, "status", "--porcelain") == "A  other.txt\n"  # still staged, out of the commit


def test_same_image_is_nothing_to_do(repo: ConfigRepo) -> None:
    before = BLOCK.encode()
    code, after, out, _ = set_image(repo, before, V1, "--commit")
    assert code == 0 and after == before
    assert "nothing to do" in out
    assert git(repo.path, "log", "-1", "--format=%s").strip() == "spec"


def test_the_edited_spec_validates(repo: ConfigRepo) -> None:
    from generator.cli import main

    set_image(repo, BLOCK.encode(), V2)
    assert main(["validate", str(repo.spec)]) == 0


# -- refusals: the file is untouched --------------------------------------------------------------------------


def assert_refused(repo: ConfigRepo, before: bytes, *args: str, says: str) -> None:
    code, after, out, err = set_image(repo, before, *args)
    assert code == 1, (out, err)
    assert after == before
    assert says in err, err
    assert [p.name for p in repo.spec.parent.iterdir()] == ["hello.yaml"]  # no temporary file left


def test_digest_required_by_the_spec(repo: ConfigRepo) -> None:
    before = BLOCK.replace("  image:", "  requireDigest: true\n  image:").replace(
        "hello:v1", "hello:v1@sha256:" + "b" * 64
    ).encode()
    assert_refused(repo, before, V2, says="spec.requireDigest: true")
    code, after, _, err = set_image(repo, before, DIGEST)
    assert code == 0, err


def test_digest_required_by_rollgen_yaml(repo: ConfigRepo) -> None:
    config = repo.path / "rollgen.yaml"
    config.write_text(config.read_text() + "images: {requireDigest: true}\n")
    git(repo.path, "commit", "-qam", "digests")
    assert_refused(repo, BLOCK.encode(), V2, says="images.requireDigest: true")


def test_validate_refuses_a_tag_where_the_spec_requires_a_digest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from generator.cli import main

    spec = tmp_path / "hello.yaml"
    spec.write_text(BLOCK.replace("  image:", "  requireDigest: true\n  image:"))
    assert main(["validate", str(spec)]) == 1
    assert "$.spec.image: spec.requireDigest is true" in capsys.readouterr().out


def test_symlinked_spec_refused(repo: ConfigRepo) -> None:
    real = repo.path / "real.yaml"
    real.write_text(BLOCK)
    repo.spec.parent.mkdir(exist_ok=True)
    os.symlink(real, repo.spec)
    code, out, err = repo.rollgen("set-image", "hello", V2)
    assert code == 1 and "is a symlink" in err
    assert real.read_text() == BLOCK and repo.spec.is_symlink()


def test_invalid_after_edit_refused(repo: ConfigRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec is validated again after the edit, whatever the checks before it let through."""
    from generator.commands import set_image as command

    monkeypatch.setattr(command, "require_digest", lambda *args: None)  # only the validation after the edit
    before = BLOCK.replace("  image:", "  requireDigest: true\n  image:").replace(
        "hello:v1", "hello:v1@sha256:" + "b" * 64
    ).encode()
    assert_refused(repo, before, V2, "--env", "staging", says="would no longer validate")


def test_invalid_spec_refused_before_anything(repo: ConfigRepo) -> None:
    before = BLOCK.replace("replicas:   4", "replicas: -4").encode()
    code, after, out, err = set_image(repo, before, V2)
    assert code == 1 and after == before
    assert "releases/hello.yaml:13:" in err and "$.spec.replicas" in err


def test_anchors_refused_as_today(repo: ConfigRepo) -> None:
    before = BLOCK.replace("  replicas:   4", "  replicas: &r 4").replace("  containerPort: 5050", "  containerPort: 5050\n  x-copy: *r").encode()
    code, after, _, err = set_image(repo, before, V2)
    assert code == 1 and after == before


def test_bad_image_is_a_usage_error(repo: ConfigRepo) -> None:
    before = BLOCK.encode()
    code, after, _, err = set_image(repo, before, "ghcr.io/x/y: v2\nkind: Evil")
    assert code == 2 and after == before
    code, after, _, err = set_image(repo, before, "ghcr.io/x/y")  # no tag
    assert code == 2 and after == before


def test_unknown_env(repo: ConfigRepo) -> None:
    assert_refused(repo, BLOCK.encode(), V2, "--env", "qa", says="no environment 'qa'")


def test_commit_refuses_a_dirty_spec(repo: ConfigRepo) -> None:
    set_image(repo, BLOCK.encode(), V1)
    repo.spec.write_text(BLOCK.replace("replicas:   4", "replicas: 5"))
    dirty = repo.spec.read_bytes()
    code, out, err = repo.rollgen("set-image", "hello", V2, "--commit")
    assert code == 1 and "uncommitted changes" in err
    assert repo.spec.read_bytes() == dirty
