"""The validated release as frozen records. Everything after validation consumes only these types."""

from __future__ import annotations

import re
from generator.records import dataclass, field
from typing import TYPE_CHECKING, Literal, Union

# The engine facts and the profile records, said in their own modules (the validate path reads those without
# this one); re-exported here, where the rest of the package has always found them.
from generator.facts import (
    BUILTIN_METRICS as BUILTIN_METRICS,
    DEFAULT_FAILURE_LIMIT as DEFAULT_FAILURE_LIMIT,
    DEFAULT_INTERVAL as DEFAULT_INTERVAL,
    INCREASE_SUFFIX as INCREASE_SUFFIX,
    Colour as Colour,
    EngineName as EngineName,
    Progression as Progression,
    engine_label as engine_label,
    flagger_interval as flagger_interval,
    metric_key as metric_key,
    other_colour as other_colour,
)
from generator.profile_model import Autoscaling as Autoscaling, Labels as Labels, Step as Step
from generator import router_facts

if TYPE_CHECKING:
    from generator.workload import Workload


def _default_workload() -> Workload:
    """Imported on first use: `rollgen validate` builds no model and need not pay for generator.workload."""
    from generator.workload import Workload

    return Workload()


# What carries the traffic split (generator/render/routers).
RouterName = str  # a name in generator.router_facts.ROUTERS (the schema's spec.router enum)

# Compiled (through re's cache) when an image is first parsed: `rollgen validate` builds no model.
_IMAGE = r"^(?P<repo>[^@\s]+?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"


@dataclass(frozen=True)
class Image:
    repository: str  # registry/path without tag or digest, e.g. ghcr.io/kmaster8/hello
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, ref: str) -> Image:
        match = re.match(_IMAGE, ref)
        if not match or not (match["tag"] or match["digest"]):
            raise ValueError(f"not an image reference with a tag or digest: {ref!r}")
        return cls(match["repo"], match["tag"], match["digest"])

    @property
    def ref(self) -> str:
        out = self.repository
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


@dataclass(frozen=True)
class CanaryStrategy:
    steps: tuple[Step, ...]
    header: str | None = None  # requests with this header go to the canary
    header_value: str | None = None  # exact value to match; None means the header value "always"
    cookie: str | None = None  # cookie name; routes on the values "always"/"never"
    sticky: bool = False  # keep clients that reached the canary there (ingress-nginx affinity)

    kind: Literal["canary"] = "canary"


@dataclass(frozen=True)
class BlueGreenStrategy:
    preview_host: str | None = None
    auto_promotion: int | None = None  # seconds after the preview is ready; None waits for a person
    scale_down_delay: int = 30  # seconds the old colour stays up after the switch
    preview_tls_secret: str | None = None  # TLS Secret of the preview Ingresses; None reuses ingress.tls_secret

    kind: Literal["blueGreen"] = "blueGreen"


@dataclass(frozen=True)
class ABTestStrategy:
    """Route only requests matching a header or cookie to the canary for a number of iterations (Flagger)."""

    iterations: int
    header: str | None = None
    header_value: str | None = None
    cookie: str | None = None

    kind: Literal["abTest"] = "abTest"


Strategy = Union[CanaryStrategy, BlueGreenStrategy, ABTestStrategy]

@dataclass(frozen=True)
class Increase:
    """maxIncrease: how much worse than stable the canary may measure, on the same query over the same window.
    `ratio`: canary <= ratio x stable; `delta`: canary - stable <= delta. Exactly one is set."""

    ratio: float | None = None
    delta: float | None = None
    min_requests: int = 50  # each track's requests in the window before the comparison counts


@dataclass(frozen=True)
class Metric:
    name: str
    query: str | None  # None for the built-ins in BUILTIN_METRICS
    max: float | None = None
    min: float | None = None
    max_increase: Increase | None = None  # the canary against stable (queries.increase_query)

    @property
    def builtin(self) -> bool:
        return self.query is None

    @property
    def key(self) -> str:
        """The check's name in output (AnalysisTemplate metric, MetricTemplate, trailers): a built-in may be held to
        a bound and, in an entry of its own, against stable (`error-rate` and `error-rate-increase`)."""
        return metric_key(self.name, self.max_increase is not None)


@dataclass(frozen=True)
class LoadTest:
    """Flagger's rollout webhook to flagger-loadtester: traffic for a canary that would otherwise get none."""

    url: str = "http://flagger-loadtester.test/"
    rate: int = 10  # requests per second
    target: str | None = None  # None: the environment's public host and path


@dataclass(frozen=True)
class Analysis:
    prometheus: str  # base URL of the Prometheus server
    interval: int  # seconds between measurements
    failure_limit: int
    metrics: tuple[Metric, ...]
    load_test: LoadTest | None = None
    # Headers every query carries (a tenant: X-Scope-OrgID), on every engine and in the git gate.
    headers: tuple[tuple[str, str], ...] = ()
    # Controller mode: the Secret (in the environment's namespace) holding Prometheus credentials, and its kind.
    secret: SecretRef | None = None


@dataclass(frozen=True)
class SecretRef:
    """analysis.secretRef. bearer: key `token`; basic: keys `username` and `password` (Flagger's provider reads
    them) and `basic`, base64 of `username:password` (Argo Rollouts sends it in a header it cannot compute)."""

    name: str
    type: Literal["bearer", "basic"]


@dataclass(frozen=True)
class IngressSpec:
    host: str
    path: str = "/"
    path_type: Literal["Prefix", "Exact", "ImplementationSpecific"] = "Prefix"
    class_name: str = "nginx"
    tls_secret: str | None = None


@dataclass(frozen=True)
class GatewayRef:
    """spec.gateway: the Gateway an HTTPRoute attaches to (router gateway-api)."""

    name: str
    namespace: str | None = None
    section_name: str | None = None
    implementation: str | None = None  # what runs the Gateway, for the built-in metrics ("istio"); None: unknown


@dataclass(frozen=True)
class Environment:
    """One deployment target of a release, with the profile and the entry's overrides already merged in."""

    name: str
    profile: str | None
    namespace: str
    host: str
    # The environment's previewHost, else the release's strategy.blueGreen.previewHost: the one place that
    # fallback is made (spec.build.build_environment over base_environment); renderers read only this.
    preview_host: str | None
    replicas: int
    image: Image
    steps: tuple[Step, ...]  # the canary steps in force here; empty for blue-green and A/B
    labels: Labels
    settle_delay: int  # seconds between the two commits of an nginx-engine promotion
    autoscaling: Autoscaling | None
    # The destination cluster (Argo CD cluster name; Flux reads the Secret `<cluster>-kubeconfig`); None: the
    # repo's default destination (rollgen.yaml argocd.destinationServer/Name, Flux's own cluster).
    cluster: str | None = None
    # environments[].after / soak (generator/plan/order.py): the environment whose promoted version this one takes,
    # and how long (seconds) that version must have run there as stable first. None: takes what `release` gives it.
    after: str | None = None
    soak: int = 0
    # container, pod, security, config, PDB, patches (generator/workload.py)
    workload: Workload = field(default_factory=_default_workload)
    # environments[].analysis merged over the release's (spec/build.py); None: the release's own, as it is.
    analysis: Analysis | None = None


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    labels: Labels
    engine: EngineName
    progression: Progression
    image: Image
    replicas: int
    container_port: int
    service_port: int
    ingress: IngressSpec
    strategy: Strategy
    analysis: Analysis | None
    environments: tuple[Environment, ...]
    autoscaling: Autoscaling | None
    settle_delay: int
    source: str  # the spec's path as given, for messages and generated-file headers
    service_port_name: str = "http"  # spec.service.portName: names the container port and the Service port
    router: RouterName = router_facts.DEFAULT  # spec.router
    gateway: GatewayRef | None = None  # spec.gateway (router gateway-api)
    istio_gateways: tuple[str, ...] = ()  # spec.istio.gateways (router istio)
    workload: Workload = field(default_factory=_default_workload)  # each environment holds its merged one

    def base_environment(self) -> Environment:
        """The release-level defaults as an environment: what the kustomize base is rendered from."""
        steps = self.strategy.steps if isinstance(self.strategy, CanaryStrategy) else ()
        preview = self.strategy.preview_host if isinstance(self.strategy, BlueGreenStrategy) else None
        return Environment(
            name="base",
            profile=None,
            namespace=self.namespace,
            host=self.ingress.host,
            preview_host=preview,
            replicas=self.replicas,
            image=self.image,
            steps=steps,
            labels=(),
            settle_delay=self.settle_delay,
            autoscaling=self.autoscaling,
            workload=self.workload,
        )

    def analysis_for(self, env: Environment) -> Analysis | None:
        """The analysis in force in `env`: its own merged one, else the release's."""
        return env.analysis if env.analysis is not None else self.analysis

    def environment(self, name: str) -> Environment:
        for env in self.environments:
            if env.name == name:
                return env
        raise KeyError(name)


Phase = Literal["stable", "progressing", "promoting", "aborted"]
# The phases in which a canary (or the new colour) is in flight: its step and weight are live, `rollgen status`
# shows the step, advance --all ticks the environment.
IN_FLIGHT: tuple[Phase, ...] = ("progressing", "promoting")


@dataclass(frozen=True)
class EnvState:
    """Where one environment's progression stands. Renderers turn it into weights and images.

    stable:      all traffic on stable_image; no canary (canary_image is None).
    progressing: canary_image takes steps[step - 1].weight percent (step is 1-based).
    promoting:   nginx engine only, between its two promotion commits: stable_image is already the new
                 image, the canary keeps its weight until the settle delay has passed.
    aborted:     all traffic on stable_image, canary scaled down; canary_image remembers what was aborted.
    """

    phase: Phase
    stable_image: Image
    canary_image: Image | None = None
    step: int = 0
    since: str = ""  # RFC 3339 UTC time the phase/step began; "" when unknown (plain `render`)
    weight: int = 0  # live canary weight, kept for status and for the promoting phase
    active_colour: Colour = "blue"  # blue-green: the colour serving stable_image
    failures: int = 0  # failed gate checks at this step (gates.py); beyond analysis.failureLimit: abort
    last_failure: str = ""  # RFC 3339 UTC time of the last failed check: the next one measures from there
    # How many steps the progression has (Rollgen-Step's n), kept while a step is live so `rollgen status` can
    # show k/n without the spec; 0 when unknown (older state files). Shown, never planned or rendered from, so it
    # takes no part in equality.
    steps: int = field(default=0, compare=False)
    # What runs in the pod besides the image (generator/plan/workload_progression.py): canonical JSON of the container,
    # pod, security and config inputs that stable runs, and the canary's while one is in flight. "" when unknown
    # (older state files, plain `render`): the spec's inputs then. Not part of equality, as `steps`.
    stable_pod: str = field(default="", compare=False)
    canary_pod: str = field(default="", compare=False)
    # `rollgen rollback`: the version it took the environment back from, until the next version starts there
    # (status shows it). Shown, never planned or rendered from: no part of equality.
    rolled_back: Image | None = field(default=None, compare=False)
    # The git blob id of the spec this environment was last acted on (gitops/pinned.py): the other environments'
    # commits render it from that spec, so a change to the spec reaches its build only in a commit of its own.
    # "" when unknown (older state files, plain `render`): the current spec. Not part of equality.
    spec_blob: str = field(default="", compare=False)

    @property
    def in_flight(self) -> bool:
        return self.phase in IN_FLIGHT

    @property
    def idle_colour(self) -> Colour:
        """Blue-green: the colour not serving stable_image (it runs the new version while one is previewed)."""
        return other_colour(self.active_colour)

    def live_weight(self, env: Environment) -> int:
        """The canary's share of traffic in percent, as the overlay routes it: the weight the planner recorded
        (the commit's Rollgen-Weight), else, in a state file written without one, the current step's weight in
        `env`; 0 when no canary is in flight. The one reading for every engine and router."""
        if not self.in_flight:
            return 0
        if self.weight or self.phase == "promoting" or self.step == 0:  # step 0: the canary's pods, no weight yet
            return self.weight
        if not 1 <= self.step <= len(env.steps):
            raise ValueError(f"step {self.step} is outside the {len(env.steps)} steps of environment {env.name}")
        return env.steps[self.step - 1].weight

    @classmethod
    def initial(cls, env: Environment) -> EnvState:
        """What `rollgen render` shows without a repository: the environment's image, fully promoted."""
        from generator.workload import pod_inputs

        return cls(phase="stable", stable_image=env.image, stable_pod=pod_inputs(env.workload))
