"""generator/spec/patterns.py against `re.search`: each plain-Python matcher answers exactly what its pattern does.

The quick schema check (schemacheck) uses a matcher instead of compiling the pattern, and only its "yes" spares a
document jsonschema: a matcher saying yes where the pattern says no would let an invalid spec through. So every
matcher is held to `re.search(pattern, value) is not None` on every string of up to three characters over an
alphabet of the characters the patterns read plus ones they must refuse (newline, space, Unicode whitespace and
letters, ...), on four-character strings over a smaller one, on the lengths where a bound sits, and on random
mutations of valid values.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.spec import schemacheck
from generator.spec.patterns import MATCHERS

ROOT = Path(__file__).resolve().parents[1]

ALPHABET = "aZ09-._/:@~\\\n hmsé\u00a0\x1c"
SMALL = "a0-./:@\n"
HEX64 = "0123456789abcdef" * 4

# Valid values of each kind, to mutate: most random strings are far from valid, so near misses come from here.
SEEDS = [
    "hello", "a", "a-b", "0", "web-1", "hello.example.com", "a.b.c", "app.kubernetes.io/name", "name", "x/y",
    "example.com/" + "k" * 63, "p" * 253 + "/n", "v" * 63, "Ab_c.d-E", "",
    "ghcr.io/kmaster8/hello:v2", "nginx:1.25", "localhost:5000/team/app:latest", "a/b__c/d---e:1.0-rc_1",
    "registry.example.com:443/x@sha256:" + HEX64, "x:t@sha256:" + HEX64, "x@sha256:" + HEX64, "x:" + "t" * 128,
    "30s", "5m", "1h30m", "1h2m3s", "0s",
    "https://example.com", "http://a:8080/path?q=1#f", "https://x.y-z.io:1/", "http://h/%20~",
    "/", "/healthz", "/a_b/c-d", "A.b~c-1", "releases", "apps/overlays", "../x", "a/../b", "a/..", "..",
]


def schema_patterns() -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.add(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in (ROOT / "schemas").glob("*.json"):
        walk(json.loads(path.read_text()))
    return found


def mutations(rng: random.Random, count: int) -> Iterator[str]:
    for _ in range(count):
        value = rng.choice(SEEDS)
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(value))
            kind = rng.randrange(5)
            if kind == 0:
                value = value[:at] + rng.choice(ALPHABET) + value[at:]
            elif kind == 1 and value:
                value = value[:at] + value[at + 1 :]
            elif kind == 2 and value:
                value = value[:at] + rng.choice(ALPHABET) + value[at + 1 :]
            elif kind == 3:
                value = value[:at] + value[at - 3 : at] + value[at:]  # a repeated piece: `--`, `__`, `..`, `//`
            else:
                value += rng.choice(("\n", "\n\n", " ", "/", ":", "@sha256:" + HEX64, "a" * rng.randint(1, 70)))
        yield value


def bounds() -> Iterator[str]:
    """Values on each side of every length bound the patterns hold."""
    for size in (1, 61, 62, 63, 64, 65, 127, 128, 129, 252, 253, 254, 255):
        yield "k" * size
        yield "p" * size + "/n"
        yield "example.com/" + "k" * size
        yield "x:" + "t" * size
        yield "http://h:" + "1" * min(size, 7)
    for size in (63, 64, 65):
        yield "x@sha256:" + "a" * size
        yield "x:t@sha256:" + "a" * size


def separators() -> Iterator[str]:
    """Every run of up to three separators between two path components of an image, and around a host."""
    for size in range(1, 4):
        for run in itertools.product("._-", repeat=size):
            sep = "".join(run)
            yield from (f"a{sep}b:1", f"r.io/a{sep}b/c:1", f"a{sep}b@sha256:{HEX64}", f"h{sep}o:5/a:1", f"a{sep}b")


def values() -> Iterator[str]:
    for size in range(4):
        yield from ("".join(chars) for chars in itertools.product(ALPHABET, repeat=size))
    yield from ("".join(chars) for chars in itertools.product(SMALL, repeat=4))
    yield from SEEDS
    yield from (seed + "\n" for seed in SEEDS)
    yield from bounds()
    yield from separators()
    yield from mutations(random.Random(16), 30_000)


@pytest.mark.parametrize("pattern", sorted(MATCHERS))
def test_matcher_answers_as_re_search(pattern: str) -> None:
    matcher, compiled = MATCHERS[pattern], re.compile(pattern)
    wrong = [value for value in values() if matcher(value) != (compiled.search(value) is not None)]
    assert not wrong, f"{len(wrong)} differ, e.g. {wrong[:5]!r}"


def test_every_matcher_is_a_pattern_the_schemas_use() -> None:
    assert set(MATCHERS) <= schema_patterns()


def test_the_quick_check_uses_the_matchers_and_compiles_other_patterns() -> None:
    for pattern, matcher in MATCHERS.items():
        assert schemacheck.compile_schema({"type": "string", "pattern": pattern}) is not None
        assert schemacheck._pattern(pattern) is matcher
    other = schemacheck._pattern("^[a-z]+$")  # not in MATCHERS (nor an edited one): compiled, as before
    assert other("abc") and not other("ab1") and other("abc\n")
