"""generator.atomic.replace_file: the one way rollgen replaces a file outside a commit (set-image, rollback, report
--out, the tick's metrics file)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from generator.atomic import replace_file


def test_a_new_file_is_written_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    replace_file(target, b"<p>one</p>")
    assert target.read_bytes() == b"<p>one</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


def test_an_existing_file_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "spec.yaml"
    target.write_bytes(b"old\n")
    target.chmod(0o640)
    replace_file(target, b"new\n")
    assert target.read_bytes() == b"new\n" and stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_symlink_at_the_path_is_replaced_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep me\n")
    target = tmp_path / "rollgen.prom"
    target.symlink_to(outside)
    replace_file(target, b"metric 1\n")
    assert outside.read_bytes() == b"keep me\n"
    assert not target.is_symlink() and target.read_bytes() == b"metric 1\n"


def test_a_link_planted_at_the_temporary_name_is_refused_and_nothing_is_written_through_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep me\n")
    target = tmp_path / "page.html"
    target.write_bytes(b"old\n")
    (tmp_path / f".page.html.rollgen-{os.getpid()}.tmp").symlink_to(outside)
    with pytest.raises(FileExistsError):
        replace_file(target, b"new\n")
    assert outside.read_bytes() == b"keep me\n" and target.read_bytes() == b"old\n"
