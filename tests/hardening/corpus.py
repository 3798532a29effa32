"""The bad-input corpus: each case is a release spec (and maybe a rollgen.yaml or profile) that rollgen must refuse
with exactly the located problems listed, through every command, writing nothing.

Cases are generated from one valid spec (BASE, line numbers in the comments on the right) by small edits, so a
reader sees what each case breaks. Expectations use the `# expect:` spelling of examples/invalid/:
`[FILE:]LINE:COL: $.path: fragment of the message`, FILE defaulting to the spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SPEC = "releases/case.yaml"
CONFIG = "rollgen.yaml"

BASE = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata:
  name: hello
  namespace: test
  labels: {team: web}
spec:
  engine: argo-rollouts
  progression: git
  image: ghcr.io/kmaster8/hello:v2
  replicas: 3
  containerPort: 5050
  service: {port: 5000}
  ingress:
    host: hello.example.com
  strategy:
    canary:
      steps:
        - {weight: 10, pause: 5m}
        - {weight: 50}
      header: X-Canary
      cookie: canary
  analysis:
    prometheus: http://prometheus.monitoring:9090
    interval: 1m
    metrics:
      - {name: error-rate, max: 1}
      - name: p99
        query: histogram_quantile(0.99, sum(rate(x[1m])) by (le))
        max: 0.5
  environments:
    - {name: staging, profile: staging, namespace: staging}
    - {name: prod, profile: prod}
"""
# Line numbers of BASE, for reading the expectations below:
#  4 name   5 namespace   6 labels   8 engine   10 image   11 replicas   12 containerPort   13 service
#  15 host  19-20 steps   21 header  22 cookie  24 prometheus  25 interval  29 query  32-33 environments

BASE_CONFIG = """\
apiVersion: rollgen.io/v1alpha1
kind: Config
commit:
  author: {name: rollgen bot, email: rollgen@example.com}
"""

_EXPECT = re.compile(r"^(?:(?P<file>[^:\s]+):)?(?P<line>\d+):(?P<col>\d+): (?P<path>\$\S*): (?P<fragment>.*)$")


@dataclass(frozen=True)
class Expected:
    file: str
    line: int
    column: int
    path: str
    fragment: str


@dataclass(frozen=True)
class Case:
    id: str
    spec: bytes
    expect: tuple[Expected, ...]
    config: str = BASE_CONFIG
    extra: dict[str, bytes] = field(default_factory=dict)  # further files of the config repo


def _expected(line: str) -> Expected:
    match = _EXPECT.match(line)
    assert match, f"bad expectation {line!r}"
    return Expected(
        match["file"] or SPEC, int(match["line"]), int(match["col"]), match["path"], match["fragment"]
    )


def sub(old: str, new: str, text: str = BASE) -> str:
    """BASE with `old` (which must occur exactly once) replaced."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


CASES: list[Case] = []


def case(id: str, spec: str | bytes, *expect: str, config: str = BASE_CONFIG, **extra: str | bytes) -> None:
    raw = spec.encode() if isinstance(spec, str) else spec
    files = {name.replace("__", "/").replace("_yaml", ".yaml"): v.encode() if isinstance(v, str) else v
             for name, v in extra.items()}
    CASES.append(Case(id, raw, tuple(_expected(e) for e in expect), config, files))


# -- malformed YAML -----------------------------------------------------------------------------------------

case("unclosed-flow-mapping", sub("service: {port: 5000}", "service: {port: 5000"),
     "14:10: $: YAML syntax error")
case("unclosed-double-quote", sub("image: ghcr.io/kmaster8/hello:v2", 'image: "ghcr.io/kmaster8/hello:v2'),
     "34:1: $: YAML syntax error")
case("unclosed-single-quote", sub("namespace: test", "namespace: 'test"),
     "34:1: $: YAML syntax error")
case("bad-indentation", sub("  replicas: 3", "   replicas: 3"),
     "11:12: $: YAML syntax error")
case("tab-indentation", sub("  replicas: 3", "\treplicas: 3"),
     "11:1: $: indent with spaces")
case("mapping-value-in-plain-scalar", sub("namespace: test", "namespace: test: prod"),
     "5:18: $: quote the value")
case("stray-closing-bracket", sub("service: {port: 5000}", "service: {port: 5000}]"),
     "13:24: $: YAML syntax error")
case("reserved-indicator", sub("namespace: test", "namespace: @test"),
     "5:14: $: quote the value")
case("undefined-alias", sub("namespace: test", "namespace: *nowhere"),
     "5:14: $: define the anchor")
case("duplicate-anchor", sub("  labels: {team: web}", "  labels: {a: &x one, b: &x two}"),
     "6:26: $: give each anchor")
case("unclosed-flow-sequence", sub("        - {weight: 50}\n", "        - [{weight: 50}\n"),
     "21:7: $: YAML syntax error")
case("missing-colon", sub("  replicas: 3", "  replicas 3\n  x"),
     "12:3: $: YAML syntax error")

# -- wrong types --------------------------------------------------------------------------------------------

case("replicas-string", sub("replicas: 3", 'replicas: "3"'), "11:13: $.spec.replicas: expected a whole number, got '3'")
case("replicas-float", sub("replicas: 3", "replicas: 3.5"), "11:13: $.spec.replicas: expected a whole number, got the number 3.5")
case("replicas-bool", sub("replicas: 3", "replicas: true"), "11:13: $.spec.replicas: expected a whole number, got the boolean true")
case("port-list", sub("containerPort: 5050", "containerPort: [5050]"), "12:18: $.spec.containerPort: expected a whole number, got a list")
case("metadata-list", sub("metadata:\n  name: hello\n  namespace: test\n  labels: {team: web}",
                          "metadata:\n  - name: hello"),
     "4:3: $.metadata: expected a mapping, got a list")
case("spec-null", BASE.split("spec:\n")[0] + "spec:\n", "7:6: $.spec: expected a mapping, got null")
case("steps-mapping", sub("      steps:\n        - {weight: 10, pause: 5m}\n        - {weight: 50}\n",
                          "      steps: {weight: 10}\n"),
     "18:14: $.spec.strategy.canary.steps: expected a list, got a mapping")
case("label-value-int", sub("labels: {team: web}", "labels: {team: 1}"), "6:18: $.metadata.labels.team: got the number 1")
case("environments-string", sub("    - {name: staging, profile: staging, namespace: staging}\n    - {name: prod, profile: prod}\n",
                                "    prod\n"),
     "32:5: $.spec.environments: expected a list, got 'prod'")
case("image-number", sub("image: ghcr.io/kmaster8/hello:v2", "image: 12"), "10:10: $.spec.image: got the number 12")
case("document-list", "- apiVersion: rollgen.io/v1alpha1\n- kind: Release\n", "1:1: $: expected a mapping (a rollgen Release")
case("document-scalar", "just a string\n", "1:1: $: got a string of 13 characters")
case("tagged-str-replicas", sub("replicas: 3", "replicas: !!str 3"), "11:13: $.spec.replicas: expected a whole number, got '3'")
case("bad-tagged-int", sub("replicas: 3", "replicas: !!int three"), "11:13: $.spec.replicas: not a valid !!int")
case("integer-key", sub("  labels: {team: web}", "  labels: {team: web}\n  1: one"), "7:3: $.metadata: not a string")
case("mapping-key", sub("  labels: {team: web}", "  labels: {team: web}\n  ? {a: b}\n  : c"),
     "7:5: $.metadata: a key must be a plain string")
case("max-string", sub("max: 0.5", 'max: "0.5"'), "30:14: $.spec.analysis.metrics[1].max: expected a number, got '0.5'")

# -- unknown and misspelt fields ----------------------------------------------------------------------------

case("misspelt-replicas", sub("replicas: 3", "replica: 3"), "11:3: $.spec.replica: did you mean 'replicas'")
case("wrong-case-field", sub("containerPort: 5050", "containerport: 5050"),
     "12:3: $.spec.containerport: did you mean 'containerPort'")
case("unknown-top-level", BASE + "extra: 1\n", "34:1: $.extra: unknown field")
case("misspelt-labels", sub("labels: {team: web}", "lables: {team: web}"), "6:3: $.metadata.lables: did you mean 'labels'")
case("misspelt-steps", sub("      steps:", "      stepz:"), "18:7: $.spec.strategy.canary.stepz: did you mean 'steps'")
case("misspelt-kind", sub("kind: Release", "kind: Relase"), "2:7: $.kind: must be 'Release', got 'Relase'")
case("wrong-api-version", sub("apiVersion: rollgen.io/v1alpha1", "apiVersion: rollgen.io/v1"),
     "1:13: $.apiVersion: must be 'rollgen.io/v1alpha1'")
case("misspelt-profile", sub("profile: prod}", "profile: prdo}"),
     "33:29: $.spec.environments[1].profile: did you mean 'prod'")
case("unknown-engine", sub("engine: argo-rollouts", "engine: argo"), "8:11: $.spec.engine: must be one of")
case("misspelt-metric-field", sub("max: 0.5", "maxx: 0.5"), "28:9: $.spec.analysis.metrics[1]: give max", "30:9: $.spec.analysis.metrics[1].maxx: did you mean 'max'")

# -- duplicate keys -----------------------------------------------------------------------------------------

case("duplicate-image", sub("  replicas: 3", "  replicas: 3\n  image: ghcr.io/evil/hello:v9"),
     "12:3: $.spec.image: duplicate key 'image' (first at line 10)")
case("duplicate-in-flow", sub("{weight: 10, pause: 5m}", "{weight: 10, pause: 5m, weight: 90}"),
     "19:35: $.spec.strategy.canary.steps[0].weight: duplicate key 'weight'")
case("duplicate-environment", sub("{name: prod, profile: prod}", "{name: staging, profile: prod}"),
     "33:14: $.spec.environments[1].name: must be unique")
case("duplicate-quoted-key", sub("  replicas: 3", '  replicas: 3\n  "replicas": 4'),
     "12:3: $.spec.replicas: duplicate key")

# -- alias bombs and depth ----------------------------------------------------------------------------------


def _bomb(levels: int, width: int) -> str:
    lines = [f"    l0: &l0 [{', '.join(['x'] * width)}]"]
    lines += [f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return sub("  labels: {team: web}", "  labels:\n" + "\n".join(lines))


case("billion-laughs", _bomb(9, 10), "10:9: $.metadata.labels.l3[7]: alias bomb")
case("wide-alias-bomb", _bomb(3, 200), "8:9: $.metadata.labels.l1[49]: alias bomb")
case("recursive-alias", sub("  labels: {team: web}", "  labels: &loop {team: *loop}"),
     "6:18: $.metadata.labels.team: infinitely deep")
case("merge-bomb", sub("  labels: {team: web}",
                       "  labels:\n    a: &a {x: 1}\n" + "".join(
                           f"    m{i}: &m{i}\n      <<: [{', '.join([f'*m{i - 1}' if i else '*a'] * 12)}]\n"
                           for i in range(6)).rstrip("\n")),
     "15:7: $.metadata.labels.m3: alias bomb")
case("deep-nesting", sub("labels: {team: web}", "labels: {team: " + "[" * 150 + "]" * 150 + "}"),
     "6:115: $.metadata.labels.team" + "[0]" * 98 + ": nests more than 100 levels")
case("very-deep-nesting", sub("labels: {team: web}", "labels: {team: " + "[" * 50000 + "]" * 50000 + "}"),
     "6:115: $: nests more than 100 levels")

# -- huge files ---------------------------------------------------------------------------------------------

case("over-one-mebibyte", BASE + ("# padding\n" * 110_000), "1:1: $: the limit is 1 MiB")
case("huge-query", sub("query: histogram_quantile(0.99, sum(rate(x[1m])) by (le))", "query: " + "1+" * 400_000 + "1"),
     "29:16: $.spec.analysis.metrics[1].query: (800001 characters, at most 10000) is too long; shorten it")
case("many-labels", sub("  labels: {team: web}", "  labels:\n" + "".join(f"    k{i}: v\n" for i in range(2_000)).rstrip("\n")),
     "7:5: $.metadata.labels: has 2000 entries; at most 64 are allowed")
case("many-documents", BASE + "---\n{}\n" * 2000, "35:1: $: expected one document, found 2001")

# -- binary, non-UTF-8, control characters ------------------------------------------------------------------

case("nul-byte", sub("namespace: test", "namespace: te\0st").encode(), "5:16: $: NUL byte")
case("latin-1", sub("namespace: test", "namespace: tést").encode("latin-1"), "5:15: $: not valid UTF-8")
case("utf-16", BASE.encode("utf-16"), "1:1: $: UTF-16")
case("utf-32", BASE.encode("utf-32"), "1:1: $: UTF-32")
case("png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10", "3:1: $: NUL byte")
case("bell-character", sub("namespace: test", "namespace: te\x07st"), "5:16: $: character U+0007 is not allowed")
case("escaped-surrogate", sub("namespace: test", 'namespace: "te\\ud800st"'), "5:19: $: fix the backslash escape")
case("escaped-nul", sub("namespace: test", 'namespace: "te\\0st"'), "5:14: $.metadata.namespace: DNS-1123")

# -- empty files and several documents ----------------------------------------------------------------------

case("empty", b"", "1:1: $: holds no YAML document")
case("only-comments", "# nothing here\n# at all\n", "1:1: $: holds no YAML document")
case("only-separator", "---\n", "1:1: $: holds no YAML document")
case("whitespace-only", "   \n\n  \n", "1:1: $: holds no YAML document")
case("null-document", "~\n", "1:1: $: got null")
case("two-releases", BASE + "---\n" + BASE, "35:1: $: expected one document, found 2")
case("release-then-scalar", BASE + "--- oops\n", "34:5: $: expected one document, found 2")

# -- names that would escape the repository -----------------------------------------------------------------

case("name-dotdot", sub("name: hello", "name: ../../etc"), "4:9: $.metadata.name: DNS-1123")
case("name-absolute", sub("name: hello", "name: /etc/passwd"), "4:9: $.metadata.name: DNS-1123")
case("name-empty", sub("name: hello", 'name: ""'), "4:9: $.metadata.name: DNS-1123")
case("env-dotdot", sub("{name: prod, profile: prod}", "{name: ../prod, profile: prod}"),
     "33:14: $.spec.environments[1].name: DNS-1123")
case("env-absolute", sub("{name: prod, profile: prod}", "{name: /etc, profile: prod}"),
     "33:14: $.spec.environments[1].name: DNS-1123")
case("profile-dotdot", sub("profile: prod}", "profile: ../../etc/passwd}"),
     "33:29: $.spec.environments[1].profile: DNS-1123")
case("profile-absolute", sub("profile: prod}", "profile: /etc/passwd}"),
     "33:29: $.spec.environments[1].profile: DNS-1123")
case("namespace-dotdot", sub("namespace: test", "namespace: ../kube-system"), "5:14: $.metadata.namespace: DNS-1123")
case("config-output-up", BASE, "rollgen.yaml:5:9: $.output: relative path inside the repository",
     config=BASE_CONFIG + "output: ../../etc\n")
case("config-output-inner-up", BASE, "rollgen.yaml:5:9: $.output: relative path inside the repository",
     config=BASE_CONFIG + "output: apps/../../x\n")
case("config-releases-absolute", BASE, "rollgen.yaml:5:11: $.releases: relative path inside the repository",
     config=BASE_CONFIG + "releases: /etc\n")
case("config-profiles-up", BASE, "rollgen.yaml:5:11: $.profiles: relative path inside the repository",
     config=BASE_CONFIG + "profiles: ../profiles\n")
case("config-output-backslash", BASE, "rollgen.yaml:5:9: $.output: relative path inside the repository",
     config=BASE_CONFIG + "output: '..\\\\x'\n")
case("config-unknown-key", BASE, "rollgen.yaml:5:1: $.outptu: unknown field 'outptu'; did you mean 'output'?",
     config=BASE_CONFIG + "outptu: out\n")
case("config-malformed", BASE, "rollgen.yaml:6:1: $: YAML syntax error",
     config=BASE_CONFIG + "output: [out\n")

# -- invalid DNS names --------------------------------------------------------------------------------------

case("host-upper-case", sub("host: hello.example.com", "host: Hello.Example.com"), "15:11: $.spec.ingress.host: host name")
case("host-wildcard", sub("host: hello.example.com", "host: '*.example.com'"), "15:11: $.spec.ingress.host: host name")
case("host-leading-dash", sub("host: hello.example.com", "host: -hello.example.com"), "15:11: $.spec.ingress.host: host name")
case("host-with-port", sub("host: hello.example.com", "host: hello.example.com:443"), "15:11: $.spec.ingress.host: host name")
case("namespace-upper-case", sub("namespace: test", "namespace: Test"), "5:14: $.metadata.namespace: DNS-1123")
case("name-too-long", sub("name: hello", "name: " + "a" * 64), "4:9: $.metadata.name: (64 characters, at most 63) is not a DNS-1123 label")
case("name-with-dot", sub("name: hello", "name: hello.world"), "4:9: $.metadata.name: DNS-1123")

# -- bad weights and durations ------------------------------------------------------------------------------

case("weight-zero", sub("{weight: 10, pause: 5m}", "{weight: 0, pause: 5m}"),
     "19:20: $.spec.strategy.canary.steps[0].weight: 0 is out of range: must be from 1 to 99")
case("weight-hundred", sub("{weight: 50}", "{weight: 100}"), "20:20: $.spec.strategy.canary.steps[1].weight: 100 is out of range")
case("weight-negative", sub("{weight: 10, pause: 5m}", "{weight: -5, pause: 5m}"),
     "19:20: $.spec.strategy.canary.steps[0].weight: -5 is out of range")
case("weight-fraction", sub("{weight: 10, pause: 5m}", "{weight: 10.5, pause: 5m}"),
     "19:20: $.spec.strategy.canary.steps[0].weight: got the number 10.5")
case("weight-string", sub("{weight: 10, pause: 5m}", "{weight: '10', pause: 5m}"),
     "19:20: $.spec.strategy.canary.steps[0].weight: got '10'")
case("weights-decreasing", sub("{weight: 50}", "{weight: 5}"), "20:20: $.spec.strategy.canary.steps[1].weight: weight 5 does not increase")
case("pause-words", sub("pause: 5m}", "pause: 5 minutes}"), "19:31: $.spec.strategy.canary.steps[0].pause: duration")
case("pause-number", sub("pause: 5m}", "pause: 5}"), "19:31: $.spec.strategy.canary.steps[0].pause: duration")
case("pause-days", sub("pause: 5m}", "pause: 1d}"), "19:31: $.spec.strategy.canary.steps[0].pause: duration")
case("pause-empty", sub("pause: 5m}", "pause: ''}"), "19:31: $.spec.strategy.canary.steps[0].pause: duration")
case("interval-negative", sub("interval: 1m", "interval: -1m"), "25:15: $.spec.analysis.interval: duration")

# -- header and cookie values outside ingress-nginx's charset -----------------------------------------------

_HEADER_VALUE = "      header: X-Canary\n"
case("header-value-space", sub(_HEADER_VALUE, _HEADER_VALUE + "      headerValue: 'yes please'\n"),
     "22:20: $.spec.strategy.canary.headerValue: header value")
case("header-value-semicolon", sub(_HEADER_VALUE, _HEADER_VALUE + "      headerValue: 'a;b'\n"),
     "22:20: $.spec.strategy.canary.headerValue: header value")
case("header-value-unicode", sub(_HEADER_VALUE, _HEADER_VALUE + "      headerValue: grün\n"),
     "22:20: $.spec.strategy.canary.headerValue: header value")
case("header-value-template", sub(_HEADER_VALUE, _HEADER_VALUE + "      headerValue: '{{ 7*7 }}'\n"),
     "22:20: $.spec.strategy.canary.headerValue: header value")
case("header-value-newline", sub(_HEADER_VALUE, _HEADER_VALUE + '      headerValue: "a\\r\\nX-Evil: 1"\n'),
     "22:20: $.spec.strategy.canary.headerValue: header value")
case("header-name-underscore", sub("header: X-Canary", "header: X_Canary"), "21:15: $.spec.strategy.canary.header: header name")
case("header-name-colon", sub("header: X-Canary", "header: 'X-Canary:'"), "21:15: $.spec.strategy.canary.header: header name")
case("cookie-semicolon", sub("cookie: canary", "cookie: 'canary;path=/'"), "22:15: $.spec.strategy.canary.cookie: cookie name")

# -- injection attempts -------------------------------------------------------------------------------------

case("image-newline-document", sub("image: ghcr.io/kmaster8/hello:v2",
                                   'image: "ghcr.io/kmaster8/hello:v2\\n---\\nkind: Secret"'),
     "10:10: $.spec.image: image reference")
case("namespace-newline-key", sub("namespace: test", 'namespace: "test\\nhostNetwork: true"'),
     "5:14: $.metadata.namespace: DNS-1123")
case("label-newline-document", sub("labels: {team: web}", 'labels: {team: "web\\n---\\nkind: Secret"}'),
     "6:18: $.metadata.labels.team: label value")
case("host-newline", sub("host: hello.example.com", 'host: "hello.example.com\\n  evil: true"'),
     "15:11: $.spec.ingress.host: host name")
case("name-template", sub("name: hello", "name: '{{ 7*7 }}'"), "4:9: $.metadata.name: DNS-1123")
case("image-template", sub("image: ghcr.io/kmaster8/hello:v2", "image: 'ghcr.io/{{ 7*7 }}/hello:v2'"),
     "10:10: $.spec.image: image reference")
case("python-object-apply", sub("namespace: test", 'namespace: !!python/object/apply:os.system ["touch /tmp/rollgen-pwned"]'),
     "5:14: $.metadata.namespace: unknown tag !!python/object/apply:os.system")
case("python-name", sub("namespace: test", "namespace: !!python/name:os.system ''"),
     "5:14: $.metadata.namespace: unknown tag !!python/name:os.system")
case("python-object-mapping", sub("  labels: {team: web}", "  labels: !!python/object:os._wrap_close {team: web}"),
     "6:11: $.metadata.labels: unknown tag !!python/object:os._wrap_close")
case("binary-tag", sub("namespace: test", "namespace: !!binary dGVzdA=="), "5:14: $.metadata.namespace: unknown tag !!binary")
case("set-tag", sub("  labels: {team: web}", "  labels: !!set {team}"), "6:11: $.metadata.labels: unknown tag !!set")
case("local-tag", sub("namespace: test", "namespace: !env NAMESPACE"), "5:14: $.metadata.namespace: unknown tag !env")
case("merge-unknown-key", sub("  service: {port: 5000}",
                              "  service:\n    <<: &extra {port: 5000, hostNetwork: true}"),
     "14:29: $.spec.service.hostNetwork: unknown field 'hostNetwork'")
case("merge-reserved-label", sub("  labels: {team: web}",
                                 "  labels:\n    <<: {team: web, app.kubernetes.io/managed-by: me}"),
     "7:21: $.metadata.labels['app.kubernetes.io/managed-by']: is set by rollgen")
case("merge-scalar", sub("  labels: {team: web}", "  labels:\n    <<: web"), "7:5: $.metadata.labels: merge key")
case("merge-over-steps", sub("      steps:", "      <<: {stepz: []}\n      steps:"),
     "18:12: $.spec.strategy.canary.stepz: did you mean 'steps'")

case("query-raw-delete-character", sub("by (le))", "by (le))\x7f"),
     "29:66: $: character U+007F is not allowed in YAML")
case("query-escaped-delete-character", sub("query: histogram_quantile(0.99, sum(rate(x[1m])) by (le))",
                                           'query: "histogram_quantile(0.99, x)\\x7f"'),
     "29:16: $.spec.analysis.metrics[1].query: character U+007F at position 28 is a control character")
case("query-next-line-character", sub("query: histogram_quantile(0.99, sum(rate(x[1m])) by (le))",
                                      'query: "histogram_quantile(0.99,\\N x)"'),
     "29:16: $.spec.analysis.metrics[1].query: character U+0085 at position 25 is a control character")
case("query-escaped-nonchar", sub("query: histogram_quantile(0.99, sum(rate(x[1m])) by (le))",
                                  'query: "histogram_quantile(0.99, x)\\uFFFE"'),
     "29:16: $.spec.analysis.metrics[1].query: character U+FFFE at position 28 is a control character")
case("prometheus-delete-character", sub("prometheus: http://prometheus.monitoring:9090",
                                        'prometheus: "http://prometheus.monitoring:9090/a\\x7f"'),
     "24:17: $.spec.analysis.prometheus: character U+007F at position 36 is a control character")

# -- a profile of the repository's own that is broken --------------------------------------------------------

_OWN_PROFILES = BASE_CONFIG + "profiles: profiles\n"
case("own-profile-malformed", sub("profile: prod}", "profile: edge}"),
     "profiles/edge.yaml:5:1: $: YAML syntax error",
     config=_OWN_PROFILES,
     profiles__edge_yaml="apiVersion: rollgen.io/v1alpha1\nkind: Profile\nmetadata: {name: edge}\nspec: {replicas: [\n")
case("own-profile-wrong-type", sub("profile: prod}", "profile: edge}"),
     "profiles/edge.yaml:4:18: $.spec.replicas: expected a whole number, got 'many'",
     config=_OWN_PROFILES,
     profiles__edge_yaml="apiVersion: rollgen.io/v1alpha1\nkind: Profile\nmetadata: {name: edge}\nspec: {replicas: many}\n")
case("own-profile-python-tag", sub("profile: prod}", "profile: edge}"),
     "profiles/edge.yaml:4:18: $.spec.replicas: unknown tag !!python/object/apply:os.getpid",
     config=_OWN_PROFILES,
     profiles__edge_yaml="apiVersion: rollgen.io/v1alpha1\nkind: Profile\nmetadata: {name: edge}\n"
                         "spec: {replicas: !!python/object/apply:os.getpid []}\n")
