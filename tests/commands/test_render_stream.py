"""`rollgen render` streams release by release (writer.StreamedTree): the same tree, summary and checks as the
whole-tree writer, nothing written when a later release fails, and a bounded amount of memory."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.errors import RollgenError
from generator.gitops.writer import StreamedTree, check_tree, write_tree
from generator.render import state as state_file
from generator.render.emit import emit
from tests.conftest import EXAMPLES, disk_full_at_replace

NGINX = EXAMPLES / "hello-nginx-canary.yaml"


def listing(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def specs_of(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = NGINX.read_text()
    for index in range(count):
        name = f"app{index}"
        body = re.sub(r"(?m)^  name: [a-z0-9-]+$", f"  name: {name}", text, count=1)
        (folder / f"{name}.yaml").write_text(body)
    return folder


def no_staging_left(out: Path) -> bool:
    return not [p for p in out.iterdir() if p.name.startswith(".rollgen-tmp-")] if out.exists() else True


def test_an_error_in_a_later_release_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs, out = specs_of(tmp_path / "specs", 3), tmp_path / "out"
    assert main(["render", str(specs), "--out", str(out)]) == 0
    before = listing(out)
    for spec in specs.iterdir():  # every release changes...
        spec.write_text(spec.read_text().replace("  replicas: 4\n", "  replicas: 5\n", 1))
    # ...and the last one cannot be rendered: a corrupt progression state
    corrupt = out / state_file.relpath("app2", "prod")
    corrupt.parent.mkdir(parents=True, exist_ok=True)
    corrupt.write_text("not: a state\n")
    capsys.readouterr()
    assert main(["render", str(specs), "--out", str(out)]) == 1
    assert "progression state" in capsys.readouterr().err
    after = listing(out)
    del after[corrupt.relative_to(out).as_posix()]
    assert after == before  # app0 and app1 rendered fine, but nothing was written
    assert no_staging_left(out)


def test_an_invalid_spec_after_good_ones_writes_nothing(tmp_path: Path) -> None:
    specs, out = specs_of(tmp_path / "specs", 2), tmp_path / "out"
    assert main(["render", str(specs), "--out", str(out)]) == 0
    before = listing(out)
    (specs / "app0.yaml").write_text((specs / "app0.yaml").read_text().replace("  replicas: 4\n", "  replicas: 5\n"))
    shutil.copy(EXAMPLES / "invalid" / "weight-out-of-range.yaml", specs / "zz-bad.yaml")
    assert main(["render", str(specs), "--out", str(out)]) == 1
    assert listing(out) == before and no_staging_left(out)


def test_a_first_render_that_fails_leaves_no_folder(tmp_path: Path) -> None:
    specs, out = specs_of(tmp_path / "specs", 2), tmp_path / "out"
    shutil.copy(EXAMPLES / "invalid" / "weight-out-of-range.yaml", specs / "zz-bad.yaml")
    assert main(["render", str(specs), "--out", str(out)]) == 1
    assert not out.exists()


def test_a_foreign_file_in_a_later_release_stops_everything(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    specs, out = specs_of(tmp_path / "specs", 3), tmp_path / "out"
    (out / "apps/app2/base").mkdir(parents=True)
    (out / "apps/app2/base/kustomization.yaml").write_text("resources: []\n")
    assert main(["render", str(specs), "--out", str(out)]) == 1
    assert "apps/app2/base/kustomization.yaml" in capsys.readouterr().err
    assert listing(out) == {"apps/app2/base/kustomization.yaml": b"resources: []\n"} and no_staging_left(out)


def test_a_crash_while_moving_in_leaves_each_file_old_or_new(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    specs, out = specs_of(tmp_path / "specs", 2), tmp_path / "out"
    assert main(["render", str(specs), "--out", str(out)]) == 0
    before = listing(out)
    for spec in specs.iterdir():
        spec.write_text(spec.read_text().replace("  replicas: 4\n", "  replicas: 5\n", 1))
    with disk_full_at_replace(monkeypatch, 2):
        assert main(["render", str(specs), "--out", str(out)]) != 0  # an internal error, as before streaming
    after = listing(out)
    assert after.keys() == before.keys()
    assert sum(after[rel] != before[rel] for rel in before) == 1  # the one file moved in before the crash
    assert no_staging_left(out)
    assert main(["render", str(specs), "--out", str(out)]) == 0
    assert main(["render", str(specs), "--out", str(out), "--check"]) == 0


# -- StreamedTree against write_tree / check_tree, on random trees ----------------------------------------------


def gen(text: str) -> bytes:
    return emit({"v": text}, "x.yaml")


def random_tree(rng: random.Random, apps: list[str]) -> dict[str, bytes]:
    files = {}
    for app in apps:
        for _ in range(rng.randint(0, 4)):
            rel = f"apps/{app}/{rng.choice(['base', 'overlays/dev', 'overlays/prod'])}/f{rng.randint(0, 5)}.yaml"
            files[rel] = gen(rng.choice(["a", "b", "c"]))
    return files


def seed_disk(out: Path, rng: random.Random, apps: list[str]) -> None:
    """Generated files (some to be kept, changed or pruned), a foreign file or a state file now and then."""
    for rel, data in random_tree(rng, apps).items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if rng.random() < 0.3:
        path = out / f"apps/{rng.choice(apps)}/base/notes.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a person's file\n")
    if rng.random() < 0.3:
        path = out / f"apps/{rng.choice(apps)}/overlays/prod/state.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# a state file is never pruned\n")


def streamed(out: Path, parts: list[tuple[dict[str, bytes], list[str]]], check: bool) -> StreamedTree:
    with StreamedTree(out, check=check, keep_paths=True) as sink:
        for files, roots in parts:
            sink.add(files, roots)
        sink.shared_done()
        if not check:
            sink.finish()
    return sink


@pytest.mark.parametrize("seed", range(40))
def test_streamed_equals_whole_tree(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    apps = [f"a{i}" for i in range(rng.randint(1, 4))]
    whole, stream = tmp_path / "whole", tmp_path / "stream"
    whole.mkdir()
    seed_disk(whole, rng, apps)
    shutil.copytree(whole, stream)
    new = random_tree(rng, apps)
    parts = [({rel: data for rel, data in new.items() if rel.startswith(f"apps/{app}/")}, [f"apps/{app}"])
             for app in apps]
    roots = [f"apps/{app}" for app in apps]
    assert streamed(stream, parts, check=True).check_lines() == check_tree(whole, new, roots)
    try:
        result = write_tree(whole, new, roots)
    except RollgenError as exc:
        with pytest.raises(RollgenError) as raised:
            streamed(stream, parts, check=False)
        assert str(raised.value) == str(exc)
        assert listing(stream) == listing(whole)
        return
    sink = streamed(stream, parts, check=False)
    assert listing(stream) == listing(whole)
    assert sorted(p.relative_to(stream).as_posix() for p in stream.rglob("*")) == \
        sorted(p.relative_to(whole).as_posix() for p in whole.rglob("*"))  # emptied folders go alike
    summary = {app["root"]: app for app in sink.summary()}
    assert sorted(rel for app in summary.values() for rel in app["written"]) == list(result.written)
    assert sorted(rel for app in summary.values() for rel in app["removed"]) == list(result.removed)
    assert sum(app["unchanged"] for app in summary.values()) == len(result.unchanged)


def test_shared_roots_are_pruned_once_every_part_is_in(tmp_path: Path) -> None:
    out = tmp_path
    write_tree(out, {"argocd/a/app.yaml": gen("a"), "argocd/b/app.yaml": gen("b"), "argocd/top.yaml": gen("t"),
                     "apps/a/x.yaml": gen("x"), "apps/b/x.yaml": gen("x")}, ["argocd", "apps/a", "apps/b"])
    with StreamedTree(out, shared=["argocd"]) as sink:
        sink.add({"apps/a/x.yaml": gen("x"), "argocd/a/app.yaml": gen("a2")}, ["apps/a"])
        sink.add({"argocd/top.yaml": gen("t")}, ["argocd"])
        sink.add({}, ["apps/b"])
        sink.shared_done()
        sink.finish()
    assert listing(out) == {"apps/a/x.yaml": gen("x"), "argocd/a/app.yaml": gen("a2"), "argocd/top.yaml": gen("t")}
    assert sink.roots == ["apps/a", "argocd", "apps/b"]
    assert [(app["root"], app["written"], app["unchanged"], app["removed"]) for app in sink.summary()] == [
        ("apps/a", 0, 1, 0), ("argocd", 1, 1, 1), ("apps/b", 0, 0, 1)]


def test_a_file_outside_every_root_is_refused(tmp_path: Path) -> None:
    with StreamedTree(tmp_path) as sink, pytest.raises(ValueError, match="outside the owned roots"):
        sink.add({"apps/b/x.yaml": gen("x")}, ["apps/a"])


@pytest.mark.slow
def test_memory_does_not_grow_with_the_fleet(tmp_path: Path) -> None:
    """The Python heap's peak over a render of 40 releases is about that of 10 (a whole tree held in memory
    would be four times larger): what one release holds is dropped before the next."""
    import tracemalloc

    def peak(count: int) -> int:
        specs = specs_of(tmp_path / f"specs{count}", count)
        main(["render", str(specs), "--out", str(tmp_path / f"warmup{count}")])  # imports and caches settle
        tracemalloc.start()
        try:
            assert main(["render", str(specs), "--out", str(tmp_path / f"out{count}")]) == 0
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(10), peak(40)
    assert large < small * 1.5, (small, large)
