"""rollgen.yaml: the config repo's own settings (where specs and output live, git remote and branch, commit
identity and message template, Argo CD / Flux wiring). Every key is optional; a repo without the file works
with the defaults. Validated against schemas/config.schema.json, problems located like a spec's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from generator.records import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import InvalidInput, Problem, RollgenError, json_path

if TYPE_CHECKING:
    from generator.freeze import Window

CONFIG_FILE = "rollgen.yaml"
SCHEMA = "config.schema.json"
JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Author:
    name: str
    email: str


@dataclass(frozen=True)
class Sink:
    """One `notify:` entry (generator/notify): where events go. `url` or `url_file`, never both."""

    type: str  # slack | msteams | webhook
    url: str | None = None
    url_file: str | None = None
    events: tuple[str, ...] | None = None  # None: every event
    timeout: float = 3.0  # seconds a request may take
    repository: str | None = None  # type github: owner/name
    token_file: str | None = None  # type github


@dataclass(frozen=True)
class PrometheusAccess:
    """rollgen.yaml `prometheus:`: how the git gates reach Prometheus. Only file names: the secrets are read when
    a gate queries (plan/prometheus.py), so they are never part of a Config, a repr or a message."""

    bearer_token_file: str | None = None
    username_file: str | None = None
    password_file: str | None = None
    ca_file: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


DEFAULT_PR_COMMAND = ("gh", "pr", "create", "--head", "{branch}", "--base", "{base}", "--title", "{title}", "--body", "{body}")


@dataclass(frozen=True)
class Config:
    root: Path  # the repository root: every other path is relative to it
    releases: str = "releases"
    output: str = "."
    profiles: str | None = None
    remote: str = "origin"
    branch: str | None = None  # None: whatever branch is checked out
    push_attempts: int = 5
    push_backoff: float = 1.0  # seconds before the first retry; doubled each time, jittered
    author: Author | None = None  # None: git's own identity
    commit_template: str | None = None
    argocd: Mapping[str, Any] | None = None
    flux: Mapping[str, Any] | None = None
    require_digest: bool = False  # images.requireDigest: `set-image` refuses a tag without @sha256:
    mode: str = "direct"  # git.mode: direct | pull-request (gitops/pullrequest.py)
    pr_command: tuple[str, ...] = DEFAULT_PR_COMMAND
    pr_state_command: tuple[str, ...] | None = None
    freeze: tuple[Window, ...] = ()  # change freezes (generator/freeze.py)
    notify: tuple[Sink, ...] = ()
    prometheus: PrometheusAccess | None = None  # `prometheus:`, for the gates
    tick: str | None = None  # tick.path: the in-cluster tick's Kustomize package (wired like the releases)
    present: bool = field(default=False, compare=False)  # whether rollgen.yaml exists

    @property
    def releases_dir(self) -> Path:
        return self.root / self.releases

    @property
    def output_dir(self) -> Path:
        return self.root / self.output

    @property
    def profiles_dir(self) -> Path | None:
        return self.root / self.profiles if self.profiles else None

    def output_prefix(self) -> str:
        """The output folder as a repo-relative POSIX prefix: "" for the root, else "out/"."""
        clean = Path(self.output).as_posix().strip("/")
        return "" if clean in ("", ".") else clean + "/"


def load(root: Path, validated: Path | None = None) -> Config:
    """The config of the repository at `root`, validated whole (the schema, then what it cannot say), every
    problem located; defaults when it has no rollgen.yaml.

    `validated` names a marker file holding the digest of the last rollgen.yaml that passed the schema: when
    the file is unchanged, the schema check (and the ~60 ms import of jsonschema) is skipped.
    """
    path = root / CONFIG_FILE
    if not path.is_file():
        return Config(root=root)
    from generator.spec.loader import load_single

    doc = load_single(path, CONFIG_FILE)
    data = {} if doc.data is None else doc.data
    digest = _digest(path) if validated is not None else ""
    marked = bool(digest) and _read(validated) == digest  # the marker read once
    problems = [] if marked else _schema_problems(data, doc)
    paired = pair_findings(data)  # said together with the schema's problems: one mistake each, all at once
    if problems or paired:
        raise InvalidInput(problems + _at(doc, paired))
    # What the schema cannot say about valid data: cheap, and never behind the marker.
    found = beyond_schema(data)
    if data.get("freeze"):  # a zone this system knows, a window that ends
        from generator import freeze

        found += freeze.problems(data["freeze"])
    if found:
        raise InvalidInput(_at(doc, found))
    if validated is not None and not marked:
        _write(validated, digest)
    return from_dict(root, data)


def _digest(path: Path) -> str:
    from generator import __version__
    from generator.fingerprint import fingerprint
    from generator.resources import schema_path

    return fingerprint(__version__.encode() + schema_path(SCHEMA).read_bytes() + path.read_bytes()).hexdigest()


def _read(path: Path | None) -> str:
    try:
        return path.read_text() if path else ""
    except OSError:
        return ""


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError:
        pass  # only a cache


def _schema_problems(data: Any, doc: Any) -> list[Problem]:
    from generator.spec.findings import locate
    from generator.spec.schema import explain_additional, load_schema, quick_check
    from generator.spec.schemacheck import Unsupported

    # A valid rollgen.yaml never pays for importing jsonschema (the validate hook reads it on every run).
    check = quick_check(SCHEMA)
    try:
        if check is not None and check(data):
            return []
    except Unsupported:
        pass  # a part of the schema the quick check cannot compile (found on first use): jsonschema decides

    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema(SCHEMA))
    problems: list[Problem] = []
    said: set[tuple[str | int, ...]] = set()
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        where = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            # One problem per unknown key, at the key, worded like a spec's (doc.source is CONFIG_FILE).
            problems.extend(locate(doc, finding) for finding in explain_additional(error, where))
            continue
        if not isinstance(error.instance, dict) and where in said:
            continue  # one problem a value: the first keyword it fails, in the schema's order (type, length, pattern)
        said.add(where)
        line, column = doc.locate(where)
        problems.append(Problem(CONFIG_FILE, line, column, json_path(where), _message(error)))
    return problems


def located(root: Path, found: Sequence[tuple[JsonPath, str]]) -> list[Problem]:
    """Problems of the rollgen.yaml at `root`, (path, message) each, located like load's own: for the one rule
    checked later than load, the commit template (Jinja2 is imported only to compose a message,
    generator.gitops.messages)."""
    if not found:
        return []
    from generator.spec.loader import load_single

    return _at(load_single(root / CONFIG_FILE, CONFIG_FILE), found)


def _at(doc: Any, found: Sequence[tuple[JsonPath, str]]) -> list[Problem]:
    problems = []
    for path, message in found:
        line, column = doc.locate(path)
        problems.append(Problem(CONFIG_FILE, line, column, json_path(path), message))
    return problems


# -- what the schema cannot say (the types, defaults and unknown keys of every section are the schema's) ----------


def pair_findings(data: Any) -> list[tuple[JsonPath, str]]:
    """Keys that exclude each other, on any data (said together with the schema's problems), (path, message)."""
    argocd = data.get("argocd") if isinstance(data, dict) else None
    if isinstance(argocd, dict) and "destinationServer" in argocd and "destinationName" in argocd:
        return [(("argocd", "destinationName"), "set destinationServer or destinationName, not both")]
    return []


def beyond_schema(data: Mapping[str, Any]) -> list[tuple[JsonPath, str]]:
    """The rules of schema-valid data that the schema cannot say, (path, message): the clone URL of each enabled
    `argocd:`/`flux:` section, `notify:` entries."""
    found = [*_url_problems(data.get("argocd"), "argocd", "repoURL"), *_url_problems(data.get("flux"), "flux", "url")]
    return found + list(_notify_findings(data.get("notify") or []))


MAX_NOTIFY_TIMEOUT = 10.0  # seconds: a tick waits for its notifications at most about this long


def _notify_findings(sinks: Sequence[Mapping[str, Any]]) -> Iterator[tuple[JsonPath, str]]:
    """What the schema cannot say about `notify:` entries: exactly one of url and urlFile, a bounded timeout."""
    from generator.durations import parse

    for index, sink in enumerate(sinks):
        if sink.get("type") == "github":
            yield from _github_findings(index, sink)
        elif ("url" in sink) == ("urlFile" in sink):
            yield ("notify", index), "give exactly one of url and urlFile (urlFile for a URL that holds a secret)"
        elif "repository" in sink or "tokenFile" in sink:
            yield ("notify", index), "repository and tokenFile are for type github only"
        if "timeout" in sink and not 0 < parse(sink["timeout"]) <= MAX_NOTIFY_TIMEOUT:
            yield ("notify", index, "timeout"), f"must be more than 0s and at most {MAX_NOTIFY_TIMEOUT:.0f}s"


def section(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The validated `argocd:` or `flux:` section `name` with the schema's defaults under it: they are written
    once, in schemas/config.schema.json (the reference page shows them from there too)."""
    from generator.spec.schema import load_schema

    fields = load_schema(SCHEMA)["properties"][name]["properties"]
    return {**{key: field["default"] for key, field in fields.items() if "default" in field}, **data}


def _url_problems(data: Mapping[str, Any] | None, key: str, url_key: str) -> Iterator[tuple[JsonPath, str]]:
    """The URL an enabled section's controller clones from: there, and without credentials (redaction.safe_url)."""
    if data is None or not section(data, key)["enabled"]:
        return
    url = data.get(url_key)
    if not url:
        what = "Argo CD" if key == "argocd" else "Flux"
        yield (key,), f"{url_key} is required: the URL {what} clones this config repository from"
        return
    from generator.redaction import safe_url

    try:
        safe_url(str(url), f"{key}.{url_key}")
    except RollgenError as exc:
        yield (key, url_key), str(exc)


# The patterns of the `freeze:` windows, said in words (the schema's own text would be the regular expression).
_EXPLAINED = {
    "^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01][0-9]|2[0-3]):[0-5][0-9]$":
        "a day and a 24-hour time such as Fri 16:00 (days: Mon Tue Wed Thu Fri Sat Sun)",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$":
        "an RFC 3339 time with its offset, such as \"2026-12-24T00:00:00Z\" (quoted in YAML)",
    "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$": "an IANA time zone name such as Europe/Berlin or UTC",
}


def _message(error: Any) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    custom = (schema.get("not") or {}) if error.validator == "not" else schema
    said = custom.get("errorMessage") if isinstance(custom, dict) else None
    if isinstance(said, dict):  # a message for each keyword (type, length, pattern say different things)
        said = said.get(str(error.validator))
    if said:
        return str(said)
    if error.validator == "not" and "freeze" not in error.absolute_path:  # relativePath
        return "must be a relative path inside the repository (no leading /, no .., no backslashes)"
    explained = _EXPLAINED.get(error.schema.get("pattern", "") if error.validator == "pattern" else "")
    if explained:
        return f"{error.instance!r} is not {explained}"
    if error.validator in ("anyOf", "not") and isinstance(error.instance, dict) and "freeze" in error.absolute_path:
        return "a freeze window is either from and to (RFC 3339 times), or weekly: {from, to}; not both"
    return str(error.message)


def _optional_words(words: Any) -> tuple[str, ...] | None:
    return tuple(words) if words else None


def from_dict(root: Path, data: Mapping[str, Any]) -> Config:
    """A Config from already validated data."""
    from generator.durations import parse

    git = data.get("git", {})
    commit = data.get("commit", {})
    author = commit.get("author")
    return Config(
        root=root,
        releases=data.get("releases", "releases"),
        output=data.get("output", "."),
        profiles=data.get("profiles"),
        remote=git.get("remote", "origin"),
        branch=git.get("branch"),
        push_attempts=int(git.get("pushAttempts", 5)),
        push_backoff=float(parse(git["pushBackoff"])) if "pushBackoff" in git else 1.0,
        author=Author(author["name"], author["email"]) if author else None,
        commit_template=commit.get("template"),
        argocd=data.get("argocd"),
        flux=data.get("flux"),
        require_digest=bool(data.get("images", {}).get("requireDigest", False)),
        mode=git.get("mode", "direct"),
        pr_command=tuple(git.get("pullRequest", {}).get("command", DEFAULT_PR_COMMAND)),
        pr_state_command=_optional_words(git.get("pullRequest", {}).get("stateCommand")),
        freeze=_freeze(data.get("freeze")),
        notify=tuple(_sink(entry) for entry in data.get("notify") or ()),
        prometheus=prometheus_access(data.get("prometheus")),
        tick=data["tick"]["path"] if "tick" in data else None,
        present=True,
    )


def _freeze(entries: Any) -> tuple[Window, ...]:
    if not entries:
        return ()
    from generator.freeze import parse_windows

    return parse_windows(entries)


def _github_findings(index: int, sink: Mapping[str, Any]) -> Iterator[tuple[JsonPath, str]]:
    if "repository" not in sink or "tokenFile" not in sink:
        yield ("notify", index), "type github needs repository (owner/name) and tokenFile"
    if "urlFile" in sink:
        yield ("notify", index, "urlFile"), "type github takes url (the API's base URL) only, not urlFile"


def _sink(entry: Mapping[str, Any]) -> Sink:
    from generator.durations import parse

    events = entry.get("events")
    timeout = float(parse(entry["timeout"])) if "timeout" in entry else 3.0
    return Sink(entry["type"], entry.get("url"), entry.get("urlFile"), tuple(events) if events else None, timeout,
                entry.get("repository"), entry.get("tokenFile"))


def prometheus_access(data: Mapping[str, Any] | None) -> PrometheusAccess | None:
    if data is None:
        return None
    basic = data.get("basicAuth") or {}
    return PrometheusAccess(
        bearer_token_file=data.get("bearerTokenFile"),
        username_file=basic.get("usernameFile"),
        password_file=basic.get("passwordFile"),
        ca_file=data.get("caFile"),
        headers=tuple(sorted((str(k), str(v)) for k, v in (data.get("headers") or {}).items())),
    )


def config_root(folder: Path) -> Path | None:
    # The nearest rollgen.yaml above the spec, without leaving the git repository it lives in. Not cached: a
    # few stat calls per folder, and a process-wide cache would miss a rollgen.yaml created later (`init`).
    if (folder / CONFIG_FILE).is_file():
        return folder
    if (folder / ".git").exists() or folder.parent == folder:
        return None
    return config_root(folder.parent)


def profile_dirs(root: Path | None) -> list[Path]:
    """The profiles folder that a config repo (its rollgen.yaml, at `root`) adds to the built-in ones."""
    if root is None:
        return []
    folder = load(root).profiles_dir
    return [folder] if folder else []
