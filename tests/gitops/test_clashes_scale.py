"""clashes.cross_problems compares each claim with the earlier claims on its own class and host only: held equal,
problems and their order, to the spec-by-spec comparison with every earlier claim that it replaced (which made a
folder of N specs cost N squared)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from generator.gitops import clashes
from generator.gitops.clashes import Claim, Scope


def naive(specs: list[list[Claim]]) -> list[Any]:
    problems: list[Any] = []
    seen: list[Claim] = []
    for claims in specs:
        problems += [clashes.clash_problem(mine, other) for mine, other in clashes.route_clashes(claims, seen)]
        problems += [clashes.clash_problem(theirs, mine) for theirs, mine in clashes.route_clashes(seen, claims)]
        seen += claims
    return list(dict.fromkeys(problems))


def fleet(seed: int) -> list[list[Claim]]:
    rng = random.Random(seed)
    specs = []
    for index in range(40):
        release = f"r{rng.randrange(30)}"
        specs.append([
            Claim(release, f"e{env}", (rng.choice(["nginx", "istio"]), f"h{rng.randrange(4)}.example.com",
                                       rng.choice(["/", "/api", "/apix", "/web", "/api/v1"])),
                  f"releases/{index}.yaml", index + 1, env + 1, f"$.spec.environments[{env}].host",
                  Scope(exact=rng.random() < 0.2, router=rng.choice(["ingress-nginx", "istio", "gateway-api"])))
            for env in range(rng.randrange(1, 4))
        ])
    return specs


@pytest.mark.parametrize("seed", range(25))
def test_the_indexed_comparison_finds_what_the_pairwise_one_found(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    specs = fleet(seed)
    monkeypatch.setattr(clashes, "name_clashes", lambda loaded: [])
    monkeypatch.setattr(clashes, "spec_claims", lambda claims: iter(claims))
    expected = naive(specs)
    assert clashes.cross_problems(specs) == expected  # type: ignore[arg-type]
    assert expected  # every generated fleet clashes somewhere
