"""Issue 22 item 3: Flagger on the Gateway API and Istio keeps `ingress.path` (the Canary's `service.match`), and
two releases whose routes overlap on one host are refused.

`flagger_routes` models the route Flagger generates from a Canary (flagger v1.44, pkg/router: the Istio
VirtualService's `http[].match` is `service.match`; the Gateway API router turns each `uri` into the HTTPRoute's
path match; without `service.match` both route `PathPrefix /`, the whole host). `owner` then answers a request as
the router would: the Gateway API gives it to the longest matching path whatever route holds it; Istio merges
the VirtualServices of one gateway host in creation order, the first matching route winning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from tests.factories import CONFIG
from tests.render.routers.test_routers import CANARY, spec_text
from tests.validators import kustomize_build

Route = tuple[str, str, bool, str]  # host, path, exact, release


def flagger_routes(canary: dict[str, Any]) -> list[Route]:
    service = canary["spec"]["service"]
    matches = service.get("match") or [{"uri": {"prefix": "/"}}]
    out = []
    for host in service["hosts"]:
        for match in matches:
            uri = match.get("uri", {"prefix": "/"})
            exact = "exact" in uri
            out.append((host, uri["exact"] if exact else uri["prefix"], exact, canary["metadata"]["name"]))
    return out


def _matches(route: Route, path: str, router: str) -> bool:
    _, prefix, exact, _ = route
    if exact:
        return path == prefix
    if router == "istio":
        return path.startswith(prefix)  # Istio's uri prefix is a string prefix
    # Gateway API PathPrefix: element-wise
    return prefix == "/" or path == prefix or path.startswith(prefix.rstrip("/") + "/")


def owner(routes: list[Route], host: str, path: str, router: str) -> str | None:
    found = [r for r in routes if r[0] == host and _matches(r, path, router)]
    if not found:
        return None
    if router == "gateway-api":
        found.sort(key=lambda r: (not r[2], -len(r[1])))  # Exact first, then the longest prefix
    return found[0][3]  # Istio: the first in creation order


def _spec(name: str, router: str, path: str) -> str:
    text = spec_text("flagger", router, CANARY).replace("name: hello,", f"name: {name},")
    return text.replace("ingress: {host: hello.example.com}", f"ingress: {{host: shop.example.com, path: {path}}}")


def _canary(tmp_path: Path, name: str, router: str, path: str) -> dict[str, Any]:
    folder = tmp_path / name
    folder.mkdir()
    spec = folder / f"{name}.yaml"
    spec.write_text(_spec(name, router, path))
    assert main(["render", str(spec), "--out", str(folder / "out")]) == 0
    objects = kustomize_build(folder / "out" / "apps" / name / "overlays" / "prod")
    return next(o for o in objects if o["kind"] == "Canary")


@pytest.mark.parametrize("router", ["gateway-api", "istio"])
def test_flagger_routes_only_the_release_path(tmp_path: Path, router: str) -> None:
    # was: no service.match, so Flagger's route for /api was PathPrefix / and took /web's requests too
    api, web = _canary(tmp_path, "api", router, "/api"), _canary(tmp_path, "web", router, "/web")
    for order in ((api, web), (web, api)):  # Istio: either may be the older
        routes = [route for canary in order for route in flagger_routes(canary)]
        assert owner(routes, "shop.example.com", "/api/orders", router) == "api"
        assert owner(routes, "shop.example.com", "/web/index.html", router) == "web"
        assert owner(routes, "shop.example.com", "/other", router) is None


def _folder(tmp_path: Path, specs: dict[str, tuple[str, str]]) -> Path:
    (tmp_path / "rollgen.yaml").write_text(CONFIG)
    folder = tmp_path / "releases"
    folder.mkdir()
    for name, (router, path) in specs.items():
        (folder / f"{name}.yaml").write_text(_spec(name, router, path))
    return folder


def test_nested_paths_on_one_istio_host_are_refused_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _folder(tmp_path, {"site": ("istio", "/"), "api": ("istio", "/api")})
    assert main(["validate", str(folder)]) == 1
    out = capsys.readouterr().out.splitlines()
    # staging and prod share the host here: each environment of each release is refused, at its host
    assert len(out) == 4, out
    assert out[0] == (
        f"{folder}/api.yaml:10:19: $.spec.ingress.host: api/prod routes shop.example.com/api, which overlaps "
        f"shop.example.com/ of release site/staging ({folder}/site.yaml:10:19); Istio merges the routes of one "
        "host in creation order, so the older prefix takes the other's requests: give one another host, or paths "
        "neither of which starts with the other"
    ), out
    assert [line.split(": ")[2].split(" routes ")[0] for line in out] == [
        "api/prod", "api/staging", "site/prod", "site/staging"
    ], out


@pytest.mark.parametrize(
    "specs",
    [
        {"api": ("istio", "/api"), "web": ("istio", "/web")},  # disjoint
        {"site": ("gateway-api", "/"), "api": ("gateway-api", "/api")},  # longest PathPrefix wins, by the spec
    ],
)
def test_paths_the_router_tells_apart_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], specs: dict[str, tuple[str, str]]
) -> None:
    folder = _folder(tmp_path, specs)
    assert main(["validate", str(folder)]) == 0, capsys.readouterr().out


def test_istio_prefix_is_a_string_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _folder(tmp_path, {"api": ("istio", "/api"), "apix": ("istio", "/apix")})
    assert main(["validate", str(folder)]) == 1
    assert "apix/prod routes shop.example.com/apix, which overlaps shop.example.com/api" in capsys.readouterr().out
