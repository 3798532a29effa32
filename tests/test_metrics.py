"""`rollgen status --format prometheus` and `advance --all --metrics-file`: checked by promtool, scraped by a real
Prometheus, and the alert rules of docs/notifications.md checked by `promtool check rules`."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.cli import main
from tests.conftest import ROOT, git, require_tool
from tests.promstack import Prometheus, loopback_server
from tests.factories import V1, V2, ConfigRepo, at, spec_text
from tests.factories import make_config_repo


@pytest.fixture
def repo(git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> ConfigRepo:
    """hello: staging stable on V2 after its promotion, prod (cluster east) in flight at 10%."""
    found = make_config_repo(git_remote[1], capsys)
    text = spec_text(V1, envs=("staging", "prod")).replace("- {name: prod}", "- {name: prod, cluster: east}")
    found.write_spec(text)
    assert found.release()[0] == 0
    found.write_spec(text.replace(V1, V2))
    assert found.release(now=at(0))[0] == 0
    code, _, err = found.act("promote", "--full", env="staging", now=at(1))
    assert code == 0, err
    code, _, err = found.act("advance", env="staging", now=at(2))  # the nginx engine's second promotion commit
    assert code == 0 and found.state("staging")["phase"] == "stable", err
    return found


def samples(text: str) -> dict[str, float]:
    """`name{labels}` -> value, for every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def promtool_metrics(text: str) -> None:
    promtool = require_tool("promtool")
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_status_in_the_prometheus_format(repo: ConfigRepo) -> None:
    code, out, err = repo.rollgen("status", "--format", "prometheus")
    assert code == 0, err
    promtool_metrics(out)
    found = samples(out)
    prod = 'release="hello",environment="prod",cluster="east"'
    staging = 'release="hello",environment="staging",cluster=""'
    assert found[f"rollgen_canary_weight{{{prod}}}"] == 10
    assert found[f"rollgen_canary_weight{{{staging}}}"] == 0
    assert found[f"rollgen_canary_status{{{prod}}}"] == 0  # running, as Flagger says it
    assert found[f"rollgen_canary_status{{{staging}}}"] == 1  # succeeded
    assert found[f"rollgen_canary_step{{{prod}}}"] == 1 and found[f"rollgen_canary_steps{{{prod}}}"] == 3
    assert found[f"rollgen_canary_last_action_timestamp_seconds{{{prod}}}"] == 1714564800  # at(0)
    assert found[f"rollgen_canary_last_action_timestamp_seconds{{{staging}}}"] == 1714564920  # at(2)
    info = [k for k in found if k.startswith("rollgen_canary_info{") and 'environment="prod"' in k]
    assert info == [f'rollgen_canary_info{{{prod},phase="progressing",stable_image="{V1}",canary_image="{V2}"}}']
    # An abort is status 2, what `flagger_canary_status > 1` alerts on.
    assert repo.act("abort", now=at(3))[0] == 0
    assert samples(repo.rollgen("status", "--format", "prometheus")[1])[f"rollgen_canary_status{{{prod}}}"] == 2


def test_label_values_are_escaped() -> None:
    from generator.metrics import _labels

    assert _labels({"a": 'x"y\\z\nw'}) == '{a="x\\"y\\\\z\\nw"}'


def test_metrics_file_after_the_tick(repo: ConfigRepo, tmp_path: Path) -> None:
    (tmp_path / "textfile").mkdir()
    path = tmp_path / "textfile" / "rollgen.prom"
    code, _, err = repo.rollgen("advance", "--all", "--now", at(6), "--metrics-file", str(path))
    assert code == 0, err
    text = path.read_text()
    promtool_metrics(text)
    first = samples(text)
    assert first['rollgen_canary_weight{release="hello",environment="prod",cluster="east"}'] == 25
    assert first["rollgen_tick_moved"] == 1 and first["rollgen_tick_failures"] == 0
    success = first["rollgen_tick_last_success_timestamp_seconds"]
    assert success == first["rollgen_tick_last_run_timestamp_seconds"] > 1.7e9
    assert [p.name for p in path.parent.iterdir()] == ["rollgen.prom"]  # no temporary file left beside it
    # A tick that fails: the success time stays what it was, the run time moves on.
    repo.spec.write_text(repo.spec.read_text().replace("replicas: 4", "replicas: -1"))
    git(repo.path, "commit", "-qam", "break hello")
    code, _, _ = repo.rollgen("advance", "--all", "--now", at(30), "--metrics-file", str(path))
    assert code == 1
    second = samples(path.read_text())
    assert second["rollgen_tick_failures"] == 1
    assert second["rollgen_tick_last_success_timestamp_seconds"] == success
    assert second["rollgen_tick_last_run_timestamp_seconds"] >= success


def test_metrics_file_needs_all(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["advance", "hello", "--env", "prod", "--repo", str(tmp_path), "--metrics-file", "m.prom"])
    assert code == 2 and "--metrics-file goes with --all" in capsys.readouterr().err


class Serve:
    """The metrics text at /metrics on a free loopback port, as a textfile collector would expose it."""

    def __init__(self, text: str) -> None:
        body = text.encode()
        self.server, _ = loopback_server(lambda _: ("text/plain; version=0.0.4", body))
        self.target = f"127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def served(repo: ConfigRepo) -> Iterator[Serve]:
    code, out, _ = repo.rollgen("status", "--format", "prometheus")
    assert code == 0
    serve = Serve(out)
    yield serve
    serve.server.shutdown()
    serve.server.server_close()


@pytest.mark.slow
def test_a_real_prometheus_scrapes_it(served: Serve, tmp_path: Path, loopback_without_proxy: None) -> None:
    prometheus = Prometheus(require_tool("prometheus"), tmp_path, served.target)
    prometheus.start()
    try:
        prometheus.wait_for_samples(1.0)
        weight = prometheus.query('rollgen_canary_weight{environment="prod"}')
        assert [(r["metric"]["cluster"], r["value"][1]) for r in weight] == [("east", "10")]
        assert prometheus.query("rollgen_canary_status > 1") == []  # nothing failed: the alert stays quiet
        running = prometheus.query("rollgen_canary_status == 0")
        assert [r["metric"]["environment"] for r in running] == ["prod"]
        for expr in dashboard_queries():  # every query of the Grafana dashboard is PromQL Prometheus accepts
            prometheus.query(substituted(expr))
        annotation = prometheus.query(substituted(dashboard_queries()[-1]))
        assert sorted(float(r["value"][1]) for r in annotation) == [1714564800000, 1714564920000]
    finally:
        prometheus.stop()


def alert_rules() -> str:
    """The alert rules example in docs/notifications.md (the first ```yaml block under its alerting heading)."""
    text = (ROOT / "docs" / "notifications.md").read_text()
    match = re.search(r"## Alert rules.*?```yaml\n(.*?)```", text, re.S)
    assert match, "docs/notifications.md has no alert rules example"
    return match.group(1)


def test_the_documented_alert_rules_pass_promtool(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    rules = tmp_path / "rules.yaml"
    rules.write_text(alert_rules())
    checked = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "rollgen_canary_status > 1" in rules.read_text()


def test_the_documented_alert_fires_on_an_abort(tmp_path: Path) -> None:
    """promtool's rule unit test: the documented rule against series as rollgen writes them."""
    promtool = require_tool("promtool")
    (tmp_path / "rules.yaml").write_text(alert_rules())
    (tmp_path / "test.yaml").write_text(
        "rule_files: [rules.yaml]\n"
        "evaluation_interval: 1m\n"
        "tests:\n"
        "  - interval: 1m\n"
        "    input_series:\n"
        "      - series: 'rollgen_canary_status{release=\"hello\",environment=\"prod\",cluster=\"east\"}'\n"
        "        values: '0 0 2 2 2'\n"
        "    alert_rule_test:\n"
        "      - eval_time: 4m\n"
        "        alertname: RollgenCanaryFailed\n"
        "        exp_alerts:\n"
        "          - exp_labels: {severity: warning, release: hello, environment: prod, cluster: east}\n"
        "            exp_annotations:\n"
        "              summary: hello/prod canary failed\n"
        "              description: rollgen aborted or rolled back hello in prod (cluster east); see rollgen history hello --env prod\n"
    )
    checked = subprocess.run([promtool, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


DASHBOARD = ROOT / "docs" / "grafana" / "rollgen.json"


def dashboard_queries() -> list[str]:
    """Every panel target's expression, then the annotations' (the actions annotation last)."""
    data = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in data["panels"] for target in panel["targets"]]
    return exprs + [a["expr"] for a in data["annotations"]["list"] if "expr" in a]


def substituted(expr: str) -> str:
    values = {"$release": ".*", "$environment": ".*", "$cluster": ".*", "$namespace": "test", "$ingress": "hello",
              "$__rate_interval": "1m"}
    for key, value in values.items():
        expr = expr.replace(key, value)
    return expr


def test_the_dashboard_shows_what_the_gates_measure() -> None:
    """The canary panels run the built-in gates' own queries (generator/render/routers/ingress_nginx.py), stable the same on
    canary=\"\"; weight, status and the actions annotation read rollgen's metrics."""
    from generator.render.routers.ingress_nginx import error_rate_query, latency_query

    exprs = dashboard_queries()
    for query in (error_rate_query, latency_query):
        canary = query("$namespace", "$ingress", "$__rate_interval")
        assert canary in exprs and canary.replace('canary!=""', 'canary=""') in exprs
    assert any(e.startswith("rollgen_canary_weight{") for e in exprs)
    data = json.loads(DASHBOARD.read_text())
    actions = [a for a in data["annotations"]["list"] if a.get("name") == "rollgen actions"]
    assert actions and actions[0]["useValueForTime"] is True
    assert "rollgen_canary_last_action_timestamp_seconds" in actions[0]["expr"]


def test_an_environment_that_waits_is_waiting_and_running_as_status_shows_it(
    git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """prod follows staging (`after:`): its canary aborted, the next version waits in staging. `status` says
    waiting; the metrics say the same (phase waiting, status 0 as Flagger's running), in `status --format
    prometheus` and in the tick's --metrics-file, not the abort's 2, which would keep `> 1` alerts firing."""
    from tests.plan.test_order import H, at as at_s, prod_aborted_then_v3

    repo = make_config_repo(git_remote[1], capsys)
    prod_aborted_then_v3(repo)
    code, out, _ = repo.rollgen("status", "--now", at_s(4 * H + 60))
    assert re.search(r"hello\s+prod\s+waiting", out), out
    prod = '{release="hello",environment="prod",cluster=""}'
    code, out, _ = repo.rollgen("status", "--format", "prometheus", "--now", at_s(4 * H + 60))
    assert code == 0
    promtool_metrics(out)
    shown = samples(out)
    assert shown[f"rollgen_canary_status{prod}"] == 0 and shown[f"rollgen_canary_weight{prod}"] == 0
    assert 'rollgen_canary_info{release="hello",environment="prod",cluster="",phase="waiting"' in out
    path = tmp_path / "rollgen.prom"
    code, out, err = repo.rollgen("advance", "--all", "--now", at_s(4 * H + 120), "--metrics-file", str(path))
    assert code == 0 and "hello/prod: holds: waiting" in out, out + err
    assert samples(path.read_text())[f"rollgen_canary_status{prod}"] == 0
    assert 'environment="prod",cluster="",phase="waiting"' in path.read_text()
