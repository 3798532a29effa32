"""`advance NAME` finds NAME's spec by parsing metadata.name, never by matching text (issue 12 item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import RollgenError
from generator.gitops.specs import spec_named
from generator.spec.config import Config

BLOCK = """\
apiVersion: rollgen.io/v1
kind: Release
metadata:
  name: {name}
  namespace: shop
spec:
  image: ghcr.io/x/y:v1
  environments:
    - replicas: 2
      name: {env}
"""


def write(folder: Path, file: str, text: str) -> Path:
    path = folder / "releases" / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_flow_style_metadata_is_found(tmp_path: Path) -> None:
    flow = "apiVersion: rollgen.io/v1\nkind: Release\nmetadata: {name: hello, namespace: shop}\nspec: {image: x}\n"
    path = write(tmp_path, "z-flow.yaml", flow)
    assert spec_named(Config(root=tmp_path), "hello") == path


def test_an_environment_named_like_the_release_is_not_the_release(tmp_path: Path) -> None:
    write(tmp_path, "a-other.yaml", BLOCK.format(name="other", env="hello"))
    mine = write(tmp_path, "b-mine.yaml", BLOCK.format(name="hello", env="prod"))
    assert spec_named(Config(root=tmp_path), "hello") == mine


def test_no_spec_says_where_it_looked(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", BLOCK.format(name="other", env="hello"))
    write(tmp_path, "broken.yaml", "kind: Release\nmetadata: [\n")
    with pytest.raises(RollgenError, match="no spec for release 'hello'"):
        spec_named(Config(root=tmp_path), "hello")
