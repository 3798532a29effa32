"""environments[].after and soak: the order in which environments take a version (generator/plan/order.py).

Refused, located: an `after` naming no environment of the release (or the environment itself), a cycle of
`after`s (no environment could ever go first), and a `soak` without an `after` (it counts from the upstream's
promotion, so without one there is nothing to count from).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from typing import Any
from generator.spec.findings import Finding, did_you_mean

Data = Mapping[str, Any]


def check_order(data: Data) -> Iterator[Finding]:
    entries = data["spec"].get("environments", [])
    names = [entry["name"] for entry in entries]
    upstream: dict[str, str] = {}
    for index, entry in enumerate(entries):
        at = ("spec", "environments", index)
        after = entry.get("after")
        if after is None:
            if "soak" in entry:
                yield Finding((*at, "soak"), "soak counts from the promotion in the environment this one follows: "
                              "set after: too (or remove soak)", at_key=True)
            continue
        if after == entry["name"]:
            yield Finding((*at, "after"), f"environment {after!r} cannot follow itself: name another environment, "
                          "or remove after")
        elif after not in names:
            yield Finding((*at, "after"), f"no environment {after!r} in this release (its environments: "
                          f"{', '.join(names)}){did_you_mean(after, names)}")
        else:
            upstream.setdefault(entry["name"], after)
    yield from _cycles(entries, upstream)


def _cycles(entries: Any, upstream: dict[str, str]) -> Iterator[Finding]:
    """One finding per cycle, at the `after` of its first environment in the spec's order."""
    reported: set[str] = set()
    for index, entry in enumerate(entries):
        chain = [entry["name"]]
        while chain[-1] in upstream and upstream[chain[-1]] not in chain:
            chain.append(upstream[chain[-1]])
        if chain[-1] not in upstream or upstream[chain[-1]] != entry["name"] or entry["name"] in reported:
            continue
        reported.update(chain)
        loop = " -> ".join([*chain, entry["name"]])
        yield Finding(("spec", "environments", index, "after"), f"the environments' after form a cycle ({loop}): "
                      "none of them could ever take a version; remove one of these after")
