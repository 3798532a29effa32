"""writer: swap-in writes, unchanged files untouched, pruning, ownership, and paths that try to leave out_dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.render.emit import emit
from generator.errors import RollgenError
from generator.gitops.writer import StreamedTree, WriteResult, check_tree, pruned_tree, write_tree
from tests.conftest import disk_full_at_replace

ROOTS = ["apps/hello"]


def gen(text: str) -> bytes:
    return emit({"v": text}, "hello.yaml")


def tree(**files: str) -> dict[str, bytes]:
    return {f"apps/hello/{name.replace('__', '/')}": gen(text) for name, text in files.items()}


def listing(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


def test_first_write_creates_everything(tmp_path: Path) -> None:
    files = tree(base__a_yaml="a", overlays__prod__b_yaml="b")
    result = write_tree(tmp_path, files, ROOTS)
    assert result == WriteResult(written=tuple(sorted(files)), unchanged=(), removed=())
    assert listing(tmp_path) == sorted(files)
    assert all((tmp_path / rel).read_bytes() == data for rel, data in files.items())
    assert check_tree(tmp_path, files, ROOTS) == []


def test_unchanged_files_are_not_rewritten(tmp_path: Path) -> None:
    files = tree(a="a", b="b")
    write_tree(tmp_path, files, ROOTS)
    old = 1_000_000_000
    for rel in files:
        os.utime(tmp_path / rel, (old, old))
    inode = (tmp_path / "apps/hello/a").stat().st_ino
    result = write_tree(tmp_path, {**files, "apps/hello/b": gen("B")}, ROOTS)
    assert result.unchanged == ("apps/hello/a",) and result.written == ("apps/hello/b",)
    assert (tmp_path / "apps/hello/a").stat().st_mtime == old
    assert (tmp_path / "apps/hello/a").stat().st_ino == inode
    assert (tmp_path / "apps/hello/b").stat().st_mtime != old


def test_changed_files_are_swapped_in_not_written_in_place(tmp_path: Path) -> None:
    files = tree(a="a")
    write_tree(tmp_path, files, ROOTS)
    before = (tmp_path / "apps/hello/a").stat().st_ino
    write_tree(tmp_path, tree(a="changed"), ROOTS)
    assert (tmp_path / "apps/hello/a").stat().st_ino != before  # a new file renamed over the old one
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rollgen-tmp-")]


def test_a_crash_while_writing_leaves_each_file_old_or_new(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, tree(a="old a", b="old b", c="old c"), ROOTS)
    new = tree(a="new a", b="new b", c="new c")
    with disk_full_at_replace(monkeypatch, 2), pytest.raises(OSError):
        write_tree(tmp_path, new, ROOTS)
    contents = [(tmp_path / rel).read_bytes() for rel in sorted(new)]
    assert contents == [gen("new a"), gen("old b"), gen("old c")]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rollgen-tmp-")]
    assert write_tree(tmp_path, new, ROOTS).written == ("apps/hello/b", "apps/hello/c")


def test_generated_files_no_longer_produced_are_removed(tmp_path: Path) -> None:
    write_tree(tmp_path, tree(base__a="a", overlays__old__p="p", overlays__prod__q="q"), ROOTS)
    files = tree(base__a="a", overlays__prod__q="q")
    assert check_tree(tmp_path, files, ROOTS) == ["stale: apps/hello/overlays/old/p"]
    result = write_tree(tmp_path, files, ROOTS)
    assert result.removed == ("apps/hello/overlays/old/p",)
    assert not (tmp_path / "apps/hello/overlays/old").exists()  # emptied folders go too
    assert listing(tmp_path) == sorted(files)


def test_state_files_and_foreign_files_are_never_pruned(tmp_path: Path) -> None:
    write_tree(tmp_path, tree(overlays__old__p="p", overlays__prod__q="q"), ROOTS)
    state = tmp_path / "apps/hello/overlays/old/rollgen-state.yaml"
    state.write_bytes(gen("state written by the progression code"))
    notes = tmp_path / "apps/hello/overlays/prod/NOTES.md"
    notes.write_text("a person's notes\n")
    result = write_tree(tmp_path, tree(overlays__prod__q="q"), ROOTS)
    assert result.removed == ("apps/hello/overlays/old/p",)
    assert state.exists() and notes.exists()


def on_disk(out: Path) -> dict[str, bytes]:
    return {rel: (out / rel).read_bytes() for rel in listing(out)}


def test_the_dry_run_the_writer_and_the_streaming_writer_prune_alike(tmp_path: Path) -> None:
    """One prune rule (writer.prunable): the tree the dry run shows after a commit (pruned_tree, in memory) is
    the tree write_tree and StreamedTree leave on disk: a generated file no longer produced goes; a state file,
    a person's file and another release's files stay."""
    before = {**tree(overlays__old__p="p", overlays__prod__q="q"),
              "apps/hello/overlays/old/rollgen-state.yaml": gen("state"),
              "apps/hello/overlays/prod/NOTES.md": b"a person's notes\n", "apps/other/a": gen("other")}
    files = tree(overlays__prod__q="Q", base__k="k")
    outs = [tmp_path / name for name in ("write", "stream")]
    for out in outs:
        for rel, body in before.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(body)
    write_tree(outs[0], files, ROOTS)
    with StreamedTree(outs[1]) as sink:
        sink.add(files, ROOTS)
        sink.shared_done()
        sink.finish()
    expected = pruned_tree(before, files, ROOTS)
    assert "apps/hello/overlays/old/p" not in expected and "apps/hello/overlays/old/rollgen-state.yaml" in expected
    assert on_disk(outs[0]) == on_disk(outs[1]) == expected


def test_other_apps_are_left_alone(tmp_path: Path) -> None:
    other = {"apps/other/a": gen("other")}
    write_tree(tmp_path, other, ["apps/other"])
    write_tree(tmp_path, tree(a="a"), ROOTS)
    assert (tmp_path / "apps/other/a").read_bytes() == gen("other")


def test_a_file_without_the_header_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "apps/hello").mkdir(parents=True)
    mine = tmp_path / "apps/hello/kustomization.yaml"
    mine.write_text("resources: [my-own.yaml]\n")
    files = tree(kustomization_yaml="generated", other="o")
    files = {rel.replace("kustomization_yaml", "kustomization.yaml"): data for rel, data in files.items()}
    with pytest.raises(RollgenError) as info:
        write_tree(tmp_path, files, ROOTS)
    assert "apps/hello/kustomization.yaml" in str(info.value) and "move" in str(info.value)
    assert mine.read_text() == "resources: [my-own.yaml]\n"
    assert not (tmp_path / "apps/hello/other").exists()  # nothing at all was written
    assert check_tree(tmp_path, files, ROOTS)[0].startswith("foreign: apps/hello/kustomization.yaml")


def test_identical_foreign_bytes_are_simply_unchanged(tmp_path: Path) -> None:
    (tmp_path / "apps/hello").mkdir(parents=True)
    (tmp_path / "apps/hello/a").write_bytes(gen("a"))
    assert write_tree(tmp_path, tree(a="a"), ROOTS).unchanged == ("apps/hello/a",)


@pytest.mark.parametrize(
    "rel", ["apps/hello/../../escape", "/etc/passwd", "apps/hello/./a", "apps/hello//a", "apps\\hello\\a", ""]
)
def test_paths_must_be_plain_relative(tmp_path: Path, rel: str) -> None:
    with pytest.raises(RollgenError, match="refusing"):
        write_tree(tmp_path, {rel: gen("x")}, ROOTS)
    assert not (tmp_path.parent / "escape").exists()


def test_owned_roots_cannot_escape(tmp_path: Path) -> None:
    with pytest.raises(RollgenError, match="refusing"):
        write_tree(tmp_path, {}, ["apps/../.."])


def test_a_symlinked_folder_leading_out_is_refused(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    (out / "apps").mkdir(parents=True)
    outside.mkdir()
    (out / "apps/hello").symlink_to(outside, target_is_directory=True)
    with pytest.raises(RollgenError, match="outside"):
        write_tree(out, tree(a="a"), ROOTS)
    assert list(outside.iterdir()) == []
    with pytest.raises(RollgenError, match="outside"):
        check_tree(out, tree(a="a"), ROOTS)


def test_a_symlinked_file_is_refused(tmp_path: Path) -> None:
    out, target = tmp_path / "out", tmp_path / "victim"
    target.write_bytes(gen("victim"))
    (out / "apps/hello").mkdir(parents=True)
    (out / "apps/hello/a").symlink_to(target)
    with pytest.raises(RollgenError, match="outside"):
        write_tree(out, tree(a="a"), ROOTS)
    assert target.read_bytes() == gen("victim")


def test_a_symlinked_folder_inside_out_dir_is_followed(tmp_path: Path) -> None:
    (tmp_path / "apps/real").mkdir(parents=True)
    (tmp_path / "apps/hello").symlink_to(tmp_path / "apps/real", target_is_directory=True)
    write_tree(tmp_path, tree(a="a"), ROOTS)
    assert (tmp_path / "apps/real/a").read_bytes() == gen("a")


def test_a_stale_symlink_is_not_touched(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(gen("victim"))
    out = tmp_path / "out"
    write_tree(out, tree(a="a"), ROOTS)
    (out / "apps/hello/link").symlink_to(victim)
    assert write_tree(out, tree(a="a"), ROOTS).removed == ()
    assert victim.exists() and (out / "apps/hello/link").is_symlink()


def test_files_outside_the_owned_roots_are_a_bug(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_tree(tmp_path, {"apps/other/a": gen("a")}, ROOTS)


def test_check_tree_reports_missing_changed_and_stale_without_writing(tmp_path: Path) -> None:
    write_tree(tmp_path, tree(a="a", b="b", c="c"), ROOTS)
    before = {rel: (tmp_path / rel).read_bytes() for rel in listing(tmp_path)}
    diffs = check_tree(tmp_path, tree(a="a", b="B", d="d"), ROOTS)
    assert diffs == ["changed: apps/hello/b", "stale: apps/hello/c", "missing: apps/hello/d"]
    assert {rel: (tmp_path / rel).read_bytes() for rel in listing(tmp_path)} == before
    assert check_tree(tmp_path / "nowhere", tree(a="a"), ROOTS) == ["missing: apps/hello/a"]
    assert not (tmp_path / "nowhere").exists()
