"""Values that are valid but that YAML treats specially must come out exactly as written, as strings, without
adding a document or a key: in rollgen's files, read by a YAML 1.1 reader (PyYAML) and a YAML 1.2 one (ruamel,
as Go's readers in kustomize, Argo CD and Flux), and in what `kubectl kustomize` builds from them.

The check is by comparison: each engine's spec is rendered twice, once with plain tokens (`zqname`, ...) and once
with the nasty values in their place. Replacing the tokens by the nasty values in everything read from the plain
render must give exactly what is read from the nasty render: same files, same documents, same keys, same types,
same strings. Any quoting slip (`1.10` read back as the float 1.1, `~` as null, a `---` in a query starting a
document, `{{ 7*7 }}` evaluated) breaks the equality.
"""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from generator.cli import main
from tests.conftest import require_tool

QUERY_ONE = (
    'sum(rate(x{a="{{ 7*7 }}"}[1m]))\n---\nkind: Secret\nmetadata: {name: pwned}\n...\n'
    "# not a comment: #{{ config }}\n  indented: \"value\"\n&anchor *alias !tag |> @ ` % \\ 'single' \"double\"\t"
    "<<: {{ 7*7 }}\n%YAML 1.1\n"
)
QUERY_TWO = "  {{ 7*7 }} --- # x: y: [z] {a} ~ null  \u2028next\u2029para\ufeffbom\u00a0é 日本 \U0001F600 "

LABELS = {
    "zqlka": "yes", "zqlva": "no",
    "zqlkb": "on", "zqlvb": "0X1F",
    "zqlkc": "true", "zqlvc": "2024-05-01",
    "zqlkd": "example.com/null", "zqlvd": "1_000",
    "zqlke": "n", "zqlve": "0B11",
    "zqlkf": "y", "zqlvf": "1.10",
    "zqlkg": "NULL", "zqlvg": "0o17",
}  # fmt: skip

NASTY: dict[str, dict[str, str]] = {
    "nginx": {
        "zqname": "null", "zqns": "1e3", "zqenva": "on", "zqenvb": "yes", "zqtaga": "1.10", "zqtagb": "012",
        "zqhost": "0x1f", "zqheader": "~", "zqhval": ".nan", "zqcookie": "NULL", **LABELS,
    },
    "argo-rollouts": {
        "zqname": "true", "zqns": "0o17", "zqenva": "off", "zqenvb": "n", "zqtaga": "1e3", "zqtagb": "0x1F",
        "zqhost": "1e3.example.com", "zqcookie": "~", "zqquery": QUERY_ONE, "zqpath": "a{{7*7}}---#x'y\"z:b",
        **LABELS,
    },
    "flagger": {
        "zqname": "012", "zqns": "no", "zqenva": "null", "zqenvb": "true", "zqtaga": "2024-05-01", "zqtagb": "1_0",
        "zqhost": "012.example.com", "zqheader": ".inf", "zqhval": "~", "zqcookie": "_", "zqquery": QUERY_TWO,
        "zqpath": "%7B%7B7*7%7D%7D/---/&a/*a", **LABELS,
    },
}  # fmt: skip

_LABELS_YAML = "{" + ", ".join(f"zqlk{c}: zqlv{c}" for c in "abcdefg") + "}"
_ENVS = f"""\
  environments:
    - {{name: zqenva, cluster: zqenva, host: zqenva.zqhost, labels: {_LABELS_YAML}}}
    - {{name: zqenvb, image: "ghcr.io/kmaster8/hello:zqtagb", namespace: zqns}}
"""
_HEAD = f"""\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata:
  name: zqname
  namespace: zqns
  labels: {_LABELS_YAML}
"""
SPECS = {
    "nginx": _HEAD + """\
spec:
  engine: nginx
  image: "ghcr.io/kmaster8/hello:zqtaga"
  replicas: 2
  containerPort: 5050
  service: {port: 5000}
  ingress: {host: zqhost}
  strategy:
    canary:
      steps: [{weight: 10, pause: 5m}, {weight: 50}]
      header: zqheader
      headerValue: zqhval
      cookie: zqcookie
""" + _ENVS,
    "argo-rollouts": _HEAD + """\
spec:
  engine: argo-rollouts
  progression: controller
  image: "ghcr.io/kmaster8/hello:zqtaga"
  containerPort: 5050
  service: {port: 5000}
  ingress: {host: zqhost}
  strategy:
    canary:
      steps: [{weight: 10, pause: 5m}, {weight: 50}]
      cookie: zqcookie
  analysis:
    prometheus: "http://prometheus.monitoring:9090/zqpath"
    interval: 1m
    metrics:
      - {name: error-rate, max: 1}
      - {name: custom, query: zqquery, max: 1}
""" + _ENVS,
    "flagger": _HEAD + """\
spec:
  engine: flagger
  image: "ghcr.io/kmaster8/hello:zqtaga"
  containerPort: 5050
  service: {port: 5000}
  ingress: {host: zqhost}
  strategy:
    abTest: {iterations: 3, header: zqheader, headerValue: zqhval, cookie: zqcookie}
  analysis:
    prometheus: "http://prometheus.monitoring:9090/zqpath"
    interval: 1m
    metrics:
      - {name: error-rate, max: 1}
      - {name: custom, query: zqquery, max: 1}
""" + _ENVS,
}


def spec_text(engine: str, values: Mapping[str, str] | None) -> str:
    """The engine's spec with the tokens, or with `values` in their place, written as JSON (a YAML flow
    document whose strings are double-quoted scalars: the spec says exactly these characters)."""
    text = SPECS[engine]
    if values is None:
        return text
    written = json.dumps(substitute(yaml.safe_load(text), values), indent=2, ensure_ascii=False) + "\n"
    # Raw, these would be line breaks (or a byte order mark) to YAML, even inside quotes: escape them.
    return written.translate({code: f"\\u{code:04x}" for code in (0x85, 0x2028, 0x2029, 0xFEFF)})


def substitute(data: Any, values: Mapping[str, str]) -> Any:
    if isinstance(data, str):
        for token in sorted(values, key=len, reverse=True):
            data = data.replace(token, values[token])
        return data
    if isinstance(data, dict):
        return {substitute(k, values): substitute(v, values) for k, v in data.items()}
    if isinstance(data, list):
        return [substitute(item, values) for item in data]
    return data


def read_both(text: str) -> tuple[list[Any], list[Any]]:
    """The documents as a YAML 1.1 reader and as a YAML 1.2 reader see them."""
    old = [doc for doc in yaml.load_all(text, Loader=yaml.SafeLoader)]
    new = [_plain(doc) for doc in YAML(typ="safe", pure=True).load_all(io.StringIO(text))]
    return old, new


def _plain(data: Any) -> Any:
    if isinstance(data, dict):
        return {_plain(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(item) for item in data]
    return data


def render(engine: str, values: Mapping[str, str] | None, where: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    where.mkdir()
    spec = where / "release.yaml"
    spec.write_text(spec_text(engine, values), encoding="utf-8")
    out = where / "out"
    code = main(["render", str(spec), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    return out


def files_of(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("engine", sorted(SPECS))
def test_the_specs_say_exactly_the_nasty_values(engine: str) -> None:
    """The test's own premise: the nasty spec reads back with exactly the nasty strings."""
    plain = yaml.safe_load(spec_text(engine, None))
    nasty = yaml.safe_load(spec_text(engine, NASTY[engine]))
    assert substitute(plain, NASTY[engine]) == nasty
    assert YAML(typ="safe", pure=True).load(spec_text(engine, NASTY[engine])) == nasty


@pytest.mark.parametrize("engine", sorted(SPECS))
def test_nasty_values_render_exactly(engine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = NASTY[engine]
    plain = files_of(render(engine, None, tmp_path / "plain", capsys))
    nasty = files_of(render(engine, values, tmp_path / "nasty", capsys))
    assert sorted(nasty) == sorted(substitute(list(plain), values))
    for rel, text in plain.items():
        got = nasty[substitute(rel, values)]
        old, new = read_both(got)
        want_old, want_new = read_both(text)
        assert old == substitute(want_old, values), rel
        assert new == substitute(want_new, values), rel
    # The generated header names the spec by its path under pytest's numbered tmp folder (pytest-49, ...): that
    # path is the machine's, not the output's, so it is taken out before looking for an evaluated {{ 7*7 }}.
    everything = "\n".join(nasty.values()).replace(str(tmp_path), "TMP")
    assert "49" not in everything.replace("0x1F", "")  # no {{ 7*7 }} was evaluated anywhere


@pytest.mark.slow
@pytest.mark.parametrize("engine", sorted(SPECS))
def test_nasty_values_survive_kustomize(engine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kubectl = require_tool("kubectl")
    values = NASTY[engine]
    plain = render(engine, None, tmp_path / "plain", capsys)
    nasty = render(engine, values, tmp_path / "nasty", capsys)
    for overlay in sorted(plain.glob("apps/*/overlays/*")):
        rel = overlay.relative_to(plain).as_posix()
        built = {}
        for name, root in (("plain", plain), ("nasty", nasty)):
            folder = root / (substitute(rel, values) if name == "nasty" else rel)
            result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=False)
            assert result.returncode == 0, result.stderr
            built[name] = read_both(result.stdout)
        assert built["nasty"][0] == substitute(built["plain"][0], values), rel
        assert built["nasty"][1] == substitute(built["plain"][1], values), rel
