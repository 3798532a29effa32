"""The brake against render/route_changes.py: a released Argo Rollouts route changed in the committed spec (a
port, a path, a host, a gateway) is refused by every committing command; `abort` acts all the same, on the spec
that wrote what runs (gitops/running.py), and says so. `promote` still refuses: see the test below. Through the
CLI on real git, with a bare remote."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git
from tests.factories import make_config_repo
from tests.factories import ConfigRepo, V1, V2, at
from tests.test_router_lifecycle import spec_text


@pytest.fixture
def in_flight(git_remote: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> ConfigRepo:
    """prod in a git-stepped Argo Rollouts canary of v2 over a Gateway API route, then the route's port changed in
    a committed and pushed spec (past the hooks, or by someone unaware of the rule)."""
    repo = make_config_repo(git_remote[1], capsys)
    repo.write_spec(spec_text(V1, "argo-rollouts", "gateway-api"))
    assert repo.release()[0] == 0
    repo.write_spec(spec_text(V2, "argo-rollouts", "gateway-api"), "v2")
    code, out, err = repo.release("--push", now=at(0))
    assert code == 0, out + err
    assert repo.state()["phase"] == "progressing"
    repo.write_spec(spec_text(V2, "argo-rollouts", "gateway-api").replace("port: 5000", "port: 6000"), "port")
    git(repo.path, "push", "-q", "origin", "main")
    return repo


def test_abort_acts_on_what_runs_when_the_route_change_is_refused(in_flight: ConfigRepo) -> None:
    repo = in_flight
    route = repo.path / "apps/hello/base/httproute_hello.yaml"
    before, route_before = repo.head(), route.read_bytes()
    code, out, err = repo.act("advance", now=at(6))  # every other command refuses the change, located
    assert code == 1 and "$.spec.service.port" in err and "5000 -> 6000" in err, out + err
    assert repo.head() == before

    # was: the same refusal, exit 1, nothing committed: the brake blocked while users see errors
    code, out, err = repo.act("abort", "--push", now=at(6))
    assert code == 0, out + err
    assert repo.head() != before
    assert repo.state()["phase"] == "aborted"
    assert "acting on what runs, with releases/hello.yaml as of commit" in err, err
    line = next(i for i, t in enumerate(repo.spec.read_text().splitlines(), 1) if "port: 6000" in t)
    assert "its spec changes a route the Argo Rollouts controller owns (releases/hello.yaml:" \
        f"{line}:" in err, err  # why it did not use the spec as it is, and where
    assert "$.spec.service.port, refused by the other commands" in err, err
    assert len(err.splitlines()) == 1, err
    assert route.read_bytes() == route_before  # the route the controller owns is not rewritten
    changed = git(repo.path, "diff", "--name-only", before, "HEAD").split()
    assert changed and all(p.startswith("apps/hello/overlays/prod/") for p in changed), changed
    assert b"6000" not in b"".join((repo.path / p).read_bytes() for p in changed)
    assert git(repo.path, "status", "--porcelain") == ""
    assert git(repo.path, "rev-parse", "origin/main").strip() == repo.head()  # pushed


def test_promote_still_refuses_the_route_change(in_flight: ConfigRepo) -> None:
    # promote is a decision to go forward: the stable Deployment would then run with the new spec's Services
    # while the live route keeps the old port. The spec change has to be resolved first (docs/live-cluster.md);
    # only the brake, which goes back to what ran, acts on the old spec.
    repo = in_flight
    before = repo.head()
    code, out, err = repo.act("promote", now=at(6))
    assert code == 1, out + err
    assert "$.spec.service.port" in err and "Changing a route Argo Rollouts owns" in err, err
    assert repo.head() == before
    assert git(repo.path, "status", "--porcelain") == ""
