"""The render cache: an unchanged tree is answered from it, and every input, edited, is seen."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.cli import main
from generator.render import cache, code
from tests.conftest import EXAMPLES, git

NGINX = EXAMPLES / "hello-nginx-canary.yaml"
PROFILES = Path(__file__).resolve().parents[2] / "overlays"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository holding a spec (in releases/, with a profiles folder named by rollgen.yaml there) and
    an output folder outside any config repo's output (every environment rendered)."""
    root = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(root))
    releases = root / "releases"
    releases.mkdir()
    shutil.copy(NGINX, releases / "hello.yaml")
    shutil.copytree(PROFILES, releases / "profiles")
    (releases / "rollgen.yaml").write_text("apiVersion: rollgen.io/v1alpha1\nkind: Config\nprofiles: profiles\n")
    monkeypatch.chdir(root)
    monkeypatch.setattr(cache, "_RACY_NS", 0)  # files written a moment ago count as settled (see test_racy)
    return root


def render(*extra: str) -> int:
    return main(["render", "releases/hello.yaml", "--out", "out", *extra])


def hits(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    seen: list[bool] = []
    real = cache.lookup_snapshot

    def spy(*args: object, **kwargs: object) -> cache.Hit | None:
        found = real(*args, **kwargs)  # type: ignore[arg-type]
        seen.append(found is not None)
        return found

    monkeypatch.setattr(cache, "lookup_snapshot", spy)
    return seen


def test_an_unchanged_tree_is_answered_from_the_cache(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    seen = hits(monkeypatch)
    assert render() == 0
    assert cache.cache_file(Path("out")) is not None and not cache.cache_file(Path("out")).exists()  # type: ignore[union-attr]
    assert render("--check") == 0  # finds the tree up to date: stores
    capsys.readouterr()
    assert render("--check") == 0
    from_cache = capsys.readouterr().out
    assert render() == 0
    written = capsys.readouterr().out
    assert seen == [False, False, True, True]
    monkeypatch.setattr(cache, "lookup_snapshot", lambda *a, **k: None)
    assert render("--check") == 0
    assert capsys.readouterr().out == from_cache  # the same words as a full run
    assert render() == 0
    assert capsys.readouterr().out == written


def first_generated(root: Path) -> Path:
    return sorted((root / "out").rglob("deployment*.yaml"))[0] if list((root / "out").rglob("deployment*.yaml")) \
        else sorted(p for p in (root / "out").rglob("*.yaml") if p.read_bytes().startswith(b"# Generated"))[0]


def edit_spec(root: Path) -> None:
    path = root / "releases/hello.yaml"
    path.write_text(path.read_text().replace("  replicas: 4\n", "  replicas: 5\n", 1))


def edit_profile(root: Path) -> None:
    path = root / "releases/profiles/prod.yaml"
    path.write_text(path.read_text().replace("criticality: high}", "criticality: low}", 1))


def edit_config(root: Path) -> None:
    (root / "releases/profiles2").mkdir()
    for profile in (root / "releases/profiles").iterdir():
        (root / "releases/profiles2" / profile.name).write_text(profile.read_text().replace(
            "criticality: high}", "criticality: other}", 1))
    (root / "releases/rollgen.yaml").write_text("apiVersion: rollgen.io/v1alpha1\nkind: Config\nprofiles: profiles2\n")


def edit_state(root: Path) -> None:
    from generator.model import EnvState, Image
    from generator.render import state as state_file

    target = root / "out" / state_file.relpath("hello", "prod")
    state = EnvState(phase="progressing", stable_image=Image.parse("ghcr.io/example/hello:1.0.0"),
                     canary_image=Image.parse("ghcr.io/example/hello:2.0.0"), step=1, weight=20)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(state_file.dump(state, "releases/hello.yaml"))


def hand_edit_same_size_same_mtime(root: Path) -> None:
    path = first_generated(root)
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[-2] = ord("x") if data[-2] != ord("x") else ord("y")
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # only ctime and the bytes tell


def delete_generated(root: Path) -> None:
    first_generated(root).unlink()


def add_stale_generated(root: Path) -> None:
    path = first_generated(root)
    (path.parent / "left-over.yaml").write_bytes(path.read_bytes())


def change_code(root: Path) -> None:
    code._CODE[:] = ["another rollgen"]


EDITS: dict[str, Callable[[Path], None]] = {
    "spec": edit_spec, "profile": edit_profile, "rollgen.yaml": edit_config, "state": edit_state,
    "hand-edit": hand_edit_same_size_same_mtime, "deleted": delete_generated, "stale": add_stale_generated,
    "code": change_code,
}


@pytest.mark.parametrize("name", EDITS)
def test_every_input_edited_is_seen(name: str, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = hits(monkeypatch)
    assert render() == 0
    assert render("--check") == 0
    assert render("--check") == 0
    assert seen[-1], "the cache is warm"
    code._CODE.clear()
    EDITS[name](repo)
    # out of date, whatever the cache held (another rollgen writes the same bytes here, but is not trusted)
    assert render("--check") == (0 if name == "code" else 1)
    assert not seen[-1]
    assert render() == 0
    assert render("--check") == 0
    code._CODE.clear()


def test_racy_entries(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Timestamps too close to the snapshot to trust: a racy folder stores nothing, a racy file is compared by
    its bytes on every hit, even when its stat still matches."""
    import hashlib
    import json

    monkeypatch.setattr(cache, "_RACY_NS", 10**18)  # everything just written
    assert render() == 0
    seen = hits(monkeypatch)
    assert render("--check") == 0
    assert render("--check") == 0
    assert seen == [False, False]  # its folders changed just now: nothing vouched for
    monkeypatch.setattr(cache, "_RACY_NS", 0)
    assert render("--check") == 0
    where = cache.cache_file(Path("out"))
    assert where is not None
    entry = json.loads(where.read_bytes())
    path = first_generated(repo)
    rel = path.relative_to(repo / "out").as_posix()
    entry["racy"] = {rel: hashlib.sha256(path.read_bytes()).hexdigest()}  # as a store of a racy file leaves it
    where.write_text(json.dumps(entry))
    assert render("--check") == 0 and seen[-1]
    data = path.read_bytes()
    path.write_bytes(data[:-2] + (b"y\n" if data[-2:] != b"y\n" else b"z\n"))
    real_snapshot = cache.snapshot
    monkeypatch.setattr(cache, "snapshot", lambda out, taken: cache.Snapshot(  # a stat that did not move
        entry["snapshot"], {}, real_snapshot(out, taken).vouchable))
    assert render("--check") == 1
    assert not seen[-1]


def test_no_git_directory_no_cache(tmp_path: Path) -> None:
    if not any((folder / ".git").exists() for folder in (tmp_path, *tmp_path.parents)):
        assert cache.cache_file(tmp_path / "out") is None
    assert main(["render", str(NGINX), "--out", str(tmp_path / "out")]) == 0


def test_too_many_racy_files_store_nothing(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A racy file is read on every hit: past _RACY_MAX of them (a tree rewritten in place just now) no entry is
    stored, so neither the entry nor a hit grows with the tree."""
    import json

    assert render() == 0
    future = 2**62  # ns: racy whatever the clock says
    path = first_generated(repo)
    os.utime(path, ns=(future, future))
    seen = hits(monkeypatch)
    monkeypatch.setattr(cache, "_RACY_MAX", 0)
    assert render("--check") == 0
    assert render("--check") == 0
    assert seen == [False, False]
    monkeypatch.setattr(cache, "_RACY_MAX", 1)
    assert render("--check") == 0
    assert render("--check") == 0
    assert seen[-1]
    where = cache.cache_file(Path("out"))
    assert where is not None
    assert list(json.loads(where.read_bytes())["racy"]) == [path.relative_to(repo / "out").as_posix()]
