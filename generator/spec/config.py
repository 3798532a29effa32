"""rollgen.yaml: the config repo's own settings (where specs and output live, git remote and branch, commit
identity and message template, Argo CD / Flux wiring). Every key is optional; a repo without the file works
with the defaults. Validated against schemas/config.schema.json, problems located like a spec's.
"""

from __future__ import annotations

from collections.abc import Mapping
from generator.records import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import InvalidInput, Problem, json_path

CONFIG_FILE = "rollgen.yaml"
SCHEMA = "config.schema.json"


@dataclass(frozen=True)
class Author:
    name: str
    email: str


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
    """The config of the repository at `root`; defaults when it has no rollgen.yaml.

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
    if not (digest and _read(validated) == digest):
        problems = _schema_problems(data, doc)
        if problems:
            raise InvalidInput(problems)
        if validated is not None:
            _write(validated, digest)
    return from_dict(root, data)


def _digest(path: Path) -> str:
    import hashlib

    from generator import __version__
    from generator.resources import schema_path

    return hashlib.sha256(__version__.encode() + schema_path(SCHEMA).read_bytes() + path.read_bytes()).hexdigest()


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

    # A valid rollgen.yaml never pays for importing jsonschema (the validate hook reads it on every run).
    check = quick_check(SCHEMA)
    if check is not None and check(data):
        return []

    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema(SCHEMA))
    problems: list[Problem] = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        where = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            # One problem per unknown key, at the key, worded like a spec's (doc.source is CONFIG_FILE).
            problems.extend(locate(doc, finding) for finding in explain_additional(error, where))
            continue
        line, column = doc.locate(where)
        problems.append(Problem(CONFIG_FILE, line, column, json_path(where), _message(error)))
    return problems


def _message(error: Any) -> str:
    if error.validator == "not":  # only relativePath uses `not`
        return "must be a relative path inside the repository (no leading /, no .., no backslashes)"
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
        present=True,
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
