"""Regression tests for the bugs the hardening corpus found, one each, next to the fix's commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cli import main
from tests.hardening.corpus import BASE, sub


def _validate(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str) -> list[str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    assert main(["validate", str(spec)]) == 1
    out, err = capsys.readouterr()
    assert err == "1 file, 1 problem\n"
    return out.splitlines()


def test_a_too_long_value_without_a_pattern_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # was: "'1+1+...' (20001 characters, at most 10000) is not a string matching ''"
    text = sub("query: histogram_quantile(0.99, sum(rate(x[1m])) by (le))", "query: " + "1+" * 10_000 + "1")
    [line] = _validate(capsys, tmp_path, text)
    assert line.endswith("$.spec.analysis.metrics[1].query: '1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1"
                         "+1+1+1...' (20001 characters, at most 10000) is too long; shorten it"), line


def test_an_empty_value_without_a_pattern_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = sub("query: histogram_quantile(0.99, sum(rate(x[1m])) by (le))", "query: ''")
    [line] = _validate(capsys, tmp_path, text)
    assert line.endswith(":29:16: $.spec.analysis.metrics[1].query: '' is too short: give at least 1 character(s)")
