"""`rollgen init DIR [--gitops argocd|flux|both] [--engine E] [--router R]`: a working config repository, in one commit.

What it writes (from generator/init_templates; none of it may exist yet):
  rollgen.yaml                            settings, with the Argo CD and/or Flux wiring asked for
  releases/hello.yaml                     a first release for the chosen engine and router
  .pre-commit-config.yaml                 the rollgen-validate and rollgen-render-check hooks
  .github/workflows/rollgen-advance.yaml  the scheduled `rollgen advance` (an example to adapt)
and then the generated tree, exactly as `rollgen render releases --out .` writes it, so the render-check hook
passes from the first commit. Nothing is released yet, so that is the repo-level wiring only (the app of apps,
the ApplicationSet, Flux's GitRepository and root Kustomization): apps/hello/ and the release's own
Applications/Kustomizations arrive with `rollgen release`, one environment per commit, so no wiring ever points
at an overlay that does not exist and no release commit prunes another environment's files.

DIR is `git init`ed on branch main, unless it already is the top folder of a repository (a fresh clone of an
empty remote, say): then rollgen commits on its current branch and takes the wiring's repo URL from its
`origin` remote. A folder that already has rollgen.yaml is a config repo already and is refused.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from generator import __version__
from generator.spec.config import CONFIG_FILE, Config
from generator.spec.config import load as load_config
from generator.errors import EXIT_OK, RollgenError
from generator.gitops.repo import Repo
from typing import Any

from generator.router_facts import DEFAULT

TEMPLATES = Path(__file__).resolve().parents[1] / "init_templates"
PLACEHOLDER_URL = "https://git.example.com/platform/config.git"
PLACEHOLDER_SSH_URL = "git@git.example.com:platform/config.git"
TICK_IMAGE = "ghcr.io/rollgen/rollgen"  # the Containerfile's image, as .github/workflows/image.yaml publishes it
TICK_FILES = ("kustomization.yaml", "namespace.yaml", "serviceaccount.yaml", "networkpolicy.yaml", "metrics-pvc.yaml",
              "cronjob.yaml")
BRANCH = "main"
RELEASE = "hello"
SPEC = f"releases/{RELEASE}.yaml"

# destination in the new repo -> template file under init_templates/ (dot files are stored without the dot)
USER_FILES: Mapping[str, str] = {
    ".pre-commit-config.yaml": "pre-commit-config.yaml",
    ".github/workflows/rollgen-advance.yaml": "github/workflows/rollgen-advance.yaml",
}


@dataclass(frozen=True)
class Choices:
    gitops: str  # argocd | flux | both
    engine: str
    branch: str
    repo_url: str
    router: str = DEFAULT
    tick: str | None = None  # --tick kubernetes: tick/, the in-cluster CronJob
    clone_url: str = PLACEHOLDER_SSH_URL  # what the tick clones and pushes to (ssh)


def run(args: argparse.Namespace) -> int:
    target: Path = args.dir
    _refuse_config_repo(target)
    _require_identity(target)
    existed = (target / ".git").exists()
    repo, branch = _repository(target)
    try:
        return _init(args, repo, branch)
    except BaseException:
        if not existed:  # the repository init made for this run goes too: a second run starts as the first
            _remove_git(target)
        raise


def _init(args: argparse.Namespace, repo: Repo, branch: str) -> int:
    choices = Choices(args.gitops, args.engine, branch, _repo_url(repo, flux=args.gitops in ("flux", "both")),
                      getattr(args, "router", DEFAULT), getattr(args, "tick", None), _clone_url(repo))
    files = user_files(choices)
    _refuse_existing(repo.root, files)
    paths = list(files)
    try:
        _write(repo.root, files)
        config = load_config(repo.root)
        paths = sorted({*files, *_render(config)})
        commit = repo.commit(paths, _message(choices), config.author)
    except (RollgenError, OSError) as exc:
        _take_back(repo.root, paths)
        raise RollgenError(f"{exc}\nrollgen init wrote nothing (it removed what it had written); fix that and run it again") from exc
    _report(repo.root, choices, len(paths), commit)
    return EXIT_OK


# -- the folder and its repository ----------------------------------------------------------------------------


def _refuse_config_repo(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise RollgenError(f"{target} is a file; rollgen init needs a folder (new, empty, or a git clone)")
    if (target / CONFIG_FILE).exists():
        raise RollgenError(
            f"{target} already has rollgen.yaml: it is a rollgen config repo already. Nothing was changed; "
            "to start over, pick a new folder"
        )


def _require_identity(target: Path) -> None:
    """init commits what it writes: without a git identity it would fail at the end; say so before anything."""
    probe = next(folder for folder in (target, *target.parents) if folder.is_dir())
    if Repo(probe, probe / ".git" / "rollgen").run("var", "GIT_AUTHOR_IDENT", check=False).returncode == 0:
        return
    raise RollgenError(
        "git has no identity to commit with, and rollgen init commits the repository it makes: set one "
        "(git config --global user.name 'Your Name' and git config --global user.email you@example.com), then "
        "run rollgen init again. Nothing was written"
    )


def _remove_git(target: Path) -> None:
    import shutil

    shutil.rmtree(target / ".git", ignore_errors=True)


def _repository(target: Path) -> tuple[Repo, str]:
    """DIR's repository when DIR is its top folder, else a new one on branch main; and the branch to use."""
    target.mkdir(parents=True, exist_ok=True)
    try:
        repo = Repo.discover(target)
    except RollgenError:
        repo = None
    if repo is None or repo.root.resolve() != target.resolve():
        repo = _git_init(target)
    return repo, repo.branch() or BRANCH


def _git_init(target: Path) -> Repo:
    # gitops owns every git call: a Repo rooted at the folder runs `git init` there with its clean environment.
    Repo(target, target / ".git" / "rollgen").run("init", "--quiet", f"--initial-branch={BRANCH}", ".")
    return Repo.discover(target)


def _clone_url(repo: Repo) -> str:
    """The `origin` URL when git reaches it over ssh (the tick pushes with a deploy key), else the placeholder."""
    out = repo.run("remote", "get-url", "origin", check=False)
    url = out.stdout.decode().strip() if out.returncode == 0 else ""
    ssh = url.startswith("ssh://") or ("@" in url and ":" in url and "://" not in url)
    return url if ssh else PLACEHOLDER_SSH_URL


def _repo_url(repo: Repo, flux: bool = False) -> str:
    """The `origin` URL as the wiring may carry it; the placeholder when there is none (or it holds a password
    or token: then the user is told, and nothing secret is written, not even in the message). Flux clones
    ssh:// URLs only, so for Flux a scp-like `git@host:org/repo` becomes `ssh://git@host/org/repo`, said aloud."""
    from generator.redaction import safe_url
    from generator.wiring import scp_to_ssh

    out = repo.run("remote", "get-url", "origin", check=False)
    url = out.stdout.decode().strip() if out.returncode == 0 else ""
    if not url or url.startswith(("/", ".", "file:")):
        return PLACEHOLDER_URL
    try:
        url = safe_url(url, "the origin remote URL")
    except RollgenError:
        print("rollgen: the origin remote URL holds a password or token; the wiring gets a placeholder URL instead")
        return PLACEHOLDER_URL
    converted = scp_to_ssh(url) if flux else None
    if converted:
        print(f"rollgen: Flux needs an ssh:// URL: the wiring uses {converted} for the origin remote {url}")
        return converted
    return url


# -- the files a person owns ----------------------------------------------------------------------------------


def user_files(choices: Choices) -> dict[str, bytes]:
    """Every file init writes besides the generated tree, by repo-relative path."""
    files = {CONFIG_FILE: config_text(choices).encode(), SPEC: _template(release_template(choices))}
    for dest, name in USER_FILES.items():
        files[dest] = _template(name)
    workflow = ".github/workflows/rollgen-advance.yaml"
    files[workflow] = pinned_workflow(files[workflow])
    files[".pre-commit-config.yaml"] = pinned_hooks(files[".pre-commit-config.yaml"])
    if choices.tick == "kubernetes":
        for name in TICK_FILES:
            files[f"tick/{name}"] = _template(f"tick/{name}")
        files["tick/cronjob.yaml"] = tick_cronjob(files["tick/cronjob.yaml"], choices)
    return files


def tick_cronjob(template: bytes, choices: Choices) -> bytes:
    """The tick's CronJob with the clone URL, the branch and this rollgen's image set as data."""

    def pin(doc: Any) -> None:
        pod = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        clone = pod["initContainers"][0]
        words = clone["command"]
        words[words.index("--branch") + 1] = choices.branch
        words[-2] = choices.clone_url
        for container in (clone, pod["containers"][0]):
            container["image"] = f"{TICK_IMAGE}:{__version__}"

    return _edited(template, pin)


def pinned_workflow(template: bytes) -> bytes:
    """The advance workflow with ROLLGEN_PACKAGE pinned to this rollgen (its git URL at this version's tag)."""
    from generator import pinned_requirement

    def pin(doc: Any) -> None:
        doc["jobs"]["advance"]["env"]["ROLLGEN_PACKAGE"] = pinned_requirement()

    return _edited(template, pin)


def pinned_hooks(template: bytes) -> bytes:
    """The pre-commit config with the hooks taken from rollgen's repository at this version's tag: pre-commit
    installs that rollgen into an environment of its own (`language: python`), so no rollgen on PATH is needed."""
    from generator import REPO_URL

    def pin(doc: Any) -> None:
        [hooks] = doc["repos"]
        hooks["repo"] = REPO_URL
        hooks["rev"] = f"v{__version__}"

    return _edited(template, pin)


def _edited(template: bytes, edit: Callable[[Any], None]) -> bytes:
    """The YAML template with `edit` applied as data: ruamel's round trip keeps the comments and the layout a
    person will edit, and quotes a value as YAML needs (no value is put in as text)."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    doc = yaml.load(template)
    edit(doc)
    out = io.BytesIO()
    yaml.dump(doc, out)
    return out.getvalue()


def release_template(choices: Choices) -> str:
    """releases/hello-<engine>.yaml for ingress-nginx (deployments' is still named after nginx, the engine's old
    name: facts.engine_label), releases/hello-<engine>-<router>.yaml for the other routers."""
    from generator.model import engine_label
    from generator.spec.findings import model_engine

    engine = model_engine(choices.engine)  # --engine takes both names, as a spec does
    if choices.router == DEFAULT:
        return f"releases/hello-{engine_label(engine)}.yaml"
    return f"releases/hello-{engine}-{choices.router}.yaml"


def config_text(choices: Choices) -> str:
    """rollgen.yaml: the commented base plus the sections asked for, with the branch and URL set as data.

    ruamel.yaml's round trip keeps the templates' comments (they are the file's documentation) and quotes a value
    as YAML needs, so a URL or branch name cannot change the document's structure."""
    import io

    from ruamel.yaml import YAML

    sections = ["config.yaml"]
    if choices.gitops in ("argocd", "both"):
        sections.append("config-argocd.yaml")
    if choices.gitops in ("flux", "both"):
        sections.append("config-flux.yaml")
    if choices.tick is not None:
        sections.append("config-tick.yaml")
    yaml = YAML(typ="rt", pure=True)
    yaml.width = 4096  # never fold a long URL onto a second line
    data = yaml.load("".join(_template(name).decode() for name in sections))
    data["git"]["branch"] = choices.branch
    for section, key in (("argocd", "repoURL"), ("flux", "url")):
        if section in data:
            data[section][key] = choices.repo_url
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _template(name: str) -> bytes:
    return (TEMPLATES / name).read_bytes()


def _refuse_existing(root: Path, files: Mapping[str, bytes]) -> None:
    taken = sorted(rel for rel in files if (root / rel).exists())
    if taken:
        listing = "\n".join(f"  {rel}" for rel in taken)
        raise RollgenError(f"refusing to overwrite what is already in {root}:\n{listing}\nmove it away, or init another folder")


def _write(root: Path, files: Mapping[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _take_back(root: Path, paths: Sequence[str]) -> None:
    """Remove what init wrote, and the folders that leaves empty, so running it again starts clean."""
    for rel in paths:
        (root / rel).unlink(missing_ok=True)
    for folder in sorted({p for rel in paths for p in Path(rel).parents if p != Path(".")}, key=lambda p: -len(p.parts)):
        try:
            (root / folder).rmdir()
        except OSError:
            pass  # not empty: something of the user's is there


# -- the generated tree and the commit ------------------------------------------------------------------------


def _render(config: Config) -> list[str]:
    """What `rollgen render releases --out .` writes, through the same code; the repo-relative paths written
    (the repo-level wiring: no environment is released yet)."""
    from generator.errors import InvalidInput
    from generator.gitops.tree import render_all
    from generator.render.loading import load_releases
    from generator.wiring import for_render
    from generator.gitops.writer import write_tree

    releases, problems = load_releases([config.releases_dir])
    if problems:  # the templates are tested: this would be a bug, but say what is wrong
        raise InvalidInput(problems)
    out = config.output_dir
    tree = render_all(releases, out, for_render(out, [config.releases_dir]))
    result = write_tree(out, tree.files, tree.roots)
    return [config.output_prefix() + rel for rel in result.written]


def _message(choices: Choices) -> str:
    wiring = {"argocd": "Argo CD", "flux": "Flux", "both": "Argo CD and Flux"}[choices.gitops]
    return (
        f"rollgen init: config repo with release {RELEASE} ({choices.engine}), {wiring} wiring\n\n"
        f"rollgen.yaml, {SPEC}, pre-commit hooks, a scheduled `rollgen advance` workflow, and the repo-level "
        f"{wiring} wiring. Nothing is released yet: `rollgen release {SPEC}` adds apps/{RELEASE}/ and its "
        "wiring for staging, and the scheduled `rollgen advance --all` carries each version on to prod (after: "
        "staging), one commit per environment.\n"
    )


def _report(root: Path, choices: Choices, count: int, commit: str | None) -> None:
    print(f"{root}: rollgen config repo, {count} files committed [{(commit or '')[:12]}]")
    for line in next_steps(choices):
        print(line)


def next_steps(choices: Choices) -> Sequence[str]:
    steps: list[tuple[str, str]] = []
    if choices.repo_url == PLACEHOLDER_URL:
        steps.append(("set the repo URL in rollgen.yaml, then: rollgen render releases --out .", "and commit"))
    steps += [
        (f"rollgen release {SPEC} --repo .", "deploy staging; `rollgen advance --all` deploys prod 30m later"),
        ("pre-commit install", "the hooks in .pre-commit-config.yaml"),
    ]
    if choices.gitops in ("argocd", "both"):
        steps.append(("kubectl apply -n argocd -f argocd/application_rollgen.yaml", "once: Argo CD syncs argocd/"))
    if choices.gitops in ("flux", "both"):
        steps.append(("kubectl apply -f flux/gitrepository_rollgen.yaml -f flux/kustomization_rollgen.yaml",
                      "once: Flux applies flux/"))
    if choices.tick is not None:
        steps.append(("kubectl create namespace rollgen-tick && kubectl -n rollgen-tick create secret generic "
                      "rollgen-tick-git --from-file=identity=DEPLOY_KEY --from-file=known_hosts=KNOWN_HOSTS",
                      "once: the tick's deploy key and pinned host key (tick/kustomization.yaml says more)"))
    # the comments line up after the commands that fit a terminal; a longer one (the tick's Secret) is not
    # padded to, or every line would carry a screenful of spaces
    width = max((len(command) for command, _ in steps if len(command) <= ALIGN_UP_TO), default=0)
    return ["next:", *(f"  {command.ljust(width)}  # {why}" for command, why in steps)]


ALIGN_UP_TO = 90
