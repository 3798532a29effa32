"""Argo CD and Flux wiring: held to the upstream CRDs and to what the overlays they name actually build; settings
from rollgen.yaml located when wrong; no credential ever written; written, committed and pruned with the tree."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.render import state as state_file
from generator import wiring
from generator.cli import main
from generator.spec.config import Config
from generator.spec.config import load as load_config
from generator.render.engines import engine_for, renderer_for
from generator.errors import InvalidInput, RollgenError
from generator.model import EnvState
from generator.render.loading import load_release
from tests import rules
from tests.conftest import EXAMPLES, git, require_crd
from tests.validators import example_environments, kustomize_build, validate_manifest

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
URL = "https://git.example.com/platform/config.git"
ARGO = wiring.argocd_settings({"repoURL": URL})
FLUX = wiring.flux_settings({"url": URL})
PAIRS = [pytest.param(e, env, id=f"{e.stem}-{env}") for e in EXAMPLE_FILES for env in example_environments(e)]


def release_of(example: Path) -> Any:
    return load_release(example, display=f"examples/{example.name}")


def every_wiring(release: Any, env: Any) -> list[dict[str, Any]]:
    argo_set = wiring.argocd_settings({"repoURL": URL, "mode": "applicationset"})
    return [
        wiring.application(release, env, ARGO),
        wiring.applicationset(argo_set),
        wiring.root_application(ARGO, "rollgen"),
        wiring.kustomization(release, env, FLUX),
        wiring.git_repository(FLUX),
        wiring.root_kustomization(FLUX, "rollgen"),
    ]


# -- the objects against the CRDs and the overlays they point at ------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("example", "env_name"), PAIRS)
def test_wiring_passes_the_crds_and_points_at_an_overlay_that_builds(
    example: Path, env_name: str, tmp_path: Path
) -> None:
    release = release_of(example)
    env = release.environment(env_name)
    wired = every_wiring(release, env)
    problems = [line for doc in wired for line in validate_manifest(doc)]
    assert problems == [], "\n".join(problems)
    assert main(["render", str(example), "--out", str(tmp_path)]) == 0
    app, flux = wired[0], wired[3]
    assert app["spec"]["source"]["path"] == f"apps/{release.name}/overlays/{env_name}" == flux["spec"]["path"][2:]
    docs = kustomize_build(tmp_path / app["spec"]["source"]["path"])
    violations = rules.check_all([*docs, app, flux], release.engine)
    assert violations == [], "\n".join(violations)
    assert {d["metadata"]["namespace"] for d in docs} == {app["spec"]["destination"]["namespace"]}
    assert flux["spec"]["targetNamespace"] == env.namespace


@pytest.mark.parametrize(("example", "env_name"), PAIRS)
def test_ignore_differences_name_exactly_what_a_controller_changes_after_git(
    example: Path, env_name: str, tmp_path: Path
) -> None:
    """Every rule names an object the overlay holds and a field it declares; the rules are the engine's."""
    release = release_of(example)
    env = release.environment(env_name)
    rules_ = wiring.ignore_differences(release, env)
    assert main(["render", str(example), "--out", str(tmp_path)]) == 0
    built = {(d["kind"], d["metadata"]["name"]): d for d in kustomize_build(tmp_path / f"apps/{release.name}/overlays/{env_name}")}
    for rule in rules_:
        obj = built[(rule["kind"], rule["name"])]
        for pointer in rule.get("jsonPointers", []):
            parent = pointer.rsplit("/", 1)[0].strip("/").split("/")
            assert rules.dig(obj, *parent) is not None, (rule, obj)
    # the router's rules: the route a Rollout's controller edits (generator/routers), none for ingress-nginx
    route_kind = {"gateway-api": "HTTPRoute", "istio": "VirtualService"}.get(release.router)
    route_rules = [rule for rule in rules_ if rule["kind"] != "Service"]
    rules_ = [rule for rule in rules_ if rule["kind"] == "Service"] if release.engine == "argo-rollouts" else rules_
    names = {rule["name"] for rule in rules_}
    if env.workload.rolling_update is not None:
        assert rules_ == []  # a plain Deployment rolled by Kubernetes: no controller changes it after git
    elif release.engine == "argo-rollouts":
        n = release.name
        expected = {f"{n}-active", f"{n}-preview"} if "bluegreen" in example.stem else {f"{n}-stable", f"{n}-canary"}
        assert names == expected
        assert all(rule["jsonPointers"] == [wiring.POD_TEMPLATE_HASH] for rule in rules_)
        assert [(r["kind"], r["name"]) for r in route_rules] == ([(route_kind, "hello")] if route_kind else [])
    else:
        assert rules_ == []  # nginx: git owns everything; Flagger: the Deployment declares no replicas
    app = wiring.application(release, env, ARGO)
    options = app["spec"]["syncPolicy"]["syncOptions"]
    assert ("ignoreDifferences" in app["spec"]) == bool(rules_) == (wiring.RESPECT_IGNORES in options)


def test_flagger_writes_no_replicas_so_nothing_is_ignored() -> None:
    """The reason the Flagger rule is normally absent: its target Deployment never carries spec.replicas."""
    for example in (e for e in EXAMPLE_FILES if "flagger" in e.stem):
        release = release_of(example)
        for env in release.environments:
            manifests = renderer_for(release.engine)(release, env, EnvState.initial(env)).manifests
            [deployment] = [m for m in manifests if m["kind"] == "Deployment"]
            assert "replicas" not in deployment["spec"]
            assert wiring.ignore_differences(release, env, manifests) == []


def test_declared_replicas_that_a_controller_owns_are_ignored() -> None:
    """Were git to declare the replicas Flagger or an HPA changes, the rule appears, for that object only."""
    release = release_of(EXAMPLES / "hello-flagger-canary.yaml")
    env = release.environments[0]
    manifests = [dict(m) for m in renderer_for(release.engine)(release, env, EnvState.initial(env)).manifests]
    deployment = next(m for m in manifests if m["kind"] == "Deployment")
    deployment["spec"] = {**deployment["spec"], "replicas": 2}
    assert wiring.ignore_differences(release, env, manifests) == [
        {"group": "apps", "kind": "Deployment", "name": "hello", "jsonPointers": ["/spec/replicas"]}
    ]
    rollouts = release_of(EXAMPLES / "hello-rollouts-canary.yaml")
    hpa = {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "x"},
           "spec": {"scaleTargetRef": {"kind": "Rollout", "name": "hello"}}}
    rollout = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "hello"},
               "spec": {"replicas": 3, "strategy": {}}}
    assert wiring.ignore_differences(rollouts, rollouts.environments[0], [rollout, hpa]) == [
        {"group": "argoproj.io", "kind": "Rollout", "name": "hello", "jsonPointers": ["/spec/replicas"]}
    ]


def test_the_applicationset_reads_the_params_files_render_writes(tmp_path: Path) -> None:
    """The generator's glob finds every params file; `.path.path` (set by Argo CD: the params file's folder)
    is the overlay; the params carry no `path` (Argo CD would overwrite it); the templatePatch, once Argo CD's
    template has run, is the environment's ignoreDifferences."""
    repo = config_repo(tmp_path, {"argocd": {"repoURL": URL, "mode": "applicationset"}})
    write_spec(repo, EXAMPLES / "hello-rollouts-canary.yaml")
    assert main(["render", str(repo / "releases"), "--out", str(repo)]) == 0
    [appset_file] = (repo / "argocd").glob("applicationset_*.yaml")
    appset = yaml.safe_load(appset_file.read_text())
    assert validate_manifest(appset) == []
    glob = appset["spec"]["generators"][0]["git"]["files"][0]["path"]
    params = sorted(p.relative_to(repo).as_posix() for p in repo.rglob(wiring.PARAMS_FILE))
    assert params == [f"apps/hello/overlays/{env}/{wiring.PARAMS_FILE}" for env in ("prod", "staging")]
    assert all(fnmatch(p, glob) for p in params)
    assert appset["spec"]["template"]["spec"]["source"]["path"] == "{{ .path.path }}"
    for param_file in params:
        data = yaml.safe_load((repo / param_file).read_text())
        assert "path" not in data
        assert set(re.findall(r"\{\{ \.(\w+)", yaml.safe_dump(appset["spec"]))) <= {*data, "path"}
        patch = argo_template(appset["spec"]["templatePatch"], data)
        assert yaml.safe_load(patch) == {"spec": {"ignoreDifferences": data["ignoreDifferences"]}}
        assert kustomize_build(repo / Path(param_file).parent)
    assert argo_template(appset["spec"]["templatePatch"], {"ignoreDifferences": []}).strip() == ""


def argo_template(text: str, params: dict[str, Any]) -> str:
    """Just enough of Argo CD's Go template for the templatePatch rollgen writes: one `if` and `toJson`."""
    match = re.fullmatch(r"\{\{- if \.(\w+) \}\}\n(.*)\{\{- end \}\}\n", text, re.DOTALL)
    assert match, text
    name, body = match.groups()
    if not params[name]:
        return ""
    return body.replace(f"{{{{ toJson .{name} }}}}", json.dumps(params[name]))


def test_flux_health_checks_only_when_waiting_and_only_for_the_engines_kind() -> None:
    for example in EXAMPLE_FILES:
        release = release_of(example)
        env = release.environments[0]
        waiting = wiring.kustomization(release, env, FLUX)["spec"]
        kinds = [e["kind"] for e in waiting.get("healthCheckExprs", [])]
        assert waiting["wait"] is True
        assert kinds == {"argo-rollouts": ["Rollout"], "flagger": ["Canary"], "deployments": []}[release.engine]
        lazy = wiring.kustomization(release, env, wiring.flux_settings({"url": URL, "wait": False}))["spec"]
        assert "wait" not in lazy and "healthCheckExprs" not in lazy  # Flux would never evaluate them


def test_canary_health_expressions_name_phases_flagger_has() -> None:
    crd = yaml.safe_load(require_crd("flagger/canaries.flagger.app.yaml").read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    phases = set(schema["properties"]["status"]["properties"]["phase"]["enum"])
    named = set(re.findall(r"'(\w+)'", json.dumps(engine_for("flagger").health_check)))
    assert named and named <= phases


# -- credentials ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("https://git.example.com/a/b.git", "https://git.example.com/a/b.git"),
    ("https://ghp_token123@github.com/a/b.git", "https://github.com/a/b.git"),
    ("http://user@git.example.com:8080/a/b.git", "http://git.example.com:8080/a/b.git"),
    ("ssh://git@github.com/a/b.git", "ssh://git@github.com/a/b.git"),
    ("git@github.com:a/b.git", "git@github.com:a/b.git"),
])
def test_urls_lose_user_names_but_keep_the_ssh_login(url: str, expected: str) -> None:
    assert wiring.safe_url(url, "argocd.repoURL") == expected


@pytest.mark.parametrize("url", [
    "https://user:s3cr3t@github.com/a/b.git",
    "ssh://git:s3cr3t@github.com/a/b.git",
    "user:s3cr3t@github.com:a/b.git",
    "https://:s3cr3t@github.com/a/b.git",
])
def test_a_password_in_a_url_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(RollgenError) as caught:
        wiring.safe_url(url, "flux.url")
    assert "s3cr3t" not in str(caught.value)
    assert "secretRef" in str(caught.value)


def test_a_password_in_rollgen_yaml_stops_render_and_is_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = config_repo(tmp_path, {"argocd": {"repoURL": "https://bot:s3cr3t@git.example.com/c.git"}})
    write_spec(repo, EXAMPLES / "hello-nginx-canary.yaml", released=False)
    assert main(["render", str(repo / "releases"), "--out", str(repo)]) == 1
    captured = capsys.readouterr()
    said = captured.out + captured.err  # render lists rollgen.yaml's problems with the specs' (stdout)
    assert "s3cr3t" not in said
    assert "rollgen.yaml:" in said and "$.argocd.repoURL" in said and "repository Secret" in said
    assert not (repo / "apps").exists() and not (repo / "argocd").exists()


def test_user_names_never_reach_the_wiring(tmp_path: Path) -> None:
    repo = config_repo(tmp_path, {"argocd": {"repoURL": "https://ghp_tok@github.com/a/b.git"},
                                  "flux": {"url": "https://ghp_tok@github.com/a/b.git"}})
    write_spec(repo, EXAMPLES / "hello-nginx-canary.yaml")
    assert main(["render", str(repo / "releases"), "--out", str(repo)]) == 0
    text = "".join(p.read_text() for p in (*repo.rglob("argocd/**/*.yaml"), *repo.rglob("flux/**/*.yaml")))
    assert "github.com/a/b.git" in text and "ghp_tok" not in text


# -- settings -------------------------------------------------------------------------------------------------


def test_every_settings_mistake_is_located_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """rollgen.yaml has one validator: reading it checks the argocd/flux sections too, for every command."""
    repo = config_repo(tmp_path, {
        "argocd": {"repoURL": URL, "mode": "appset", "prune": "yes", "projet": "x",
                   "destinationServer": "https://a", "destinationName": "b"},
        "flux": {"url": "git@github.com:a/b.git", "interval": "1 minute", "rootKustomization": "Root"},
    })
    with pytest.raises(InvalidInput) as caught:
        load_config(repo)
    text = str(caught.value)
    lines = text.splitlines()
    assert all(re.match(r"rollgen\.yaml:\d+:\d+: \$\.(argocd|flux)\.\w+: ", line) for line in lines), text
    assert "$.argocd.mode: must be one of: applications, applicationset" in text
    assert "$.argocd.prune: must be true or false" in text
    assert "$.argocd.projet: unknown field 'projet'; did you mean 'project'?" in text  # worded as everywhere
    assert "$.argocd.destinationName: set destinationServer or destinationName, not both" in text
    assert "$.flux.url: Flux clones over http://, https:// or ssh://" in text
    assert "$.flux.interval: must be a duration" in text
    assert "$.flux.rootKustomization: must be a Kubernetes name" in text
    mode_line = next(i for i, line in enumerate((repo / "rollgen.yaml").read_text().splitlines(), 1) if "mode:" in line)
    assert f"rollgen.yaml:{mode_line}:" in text
    capsys.readouterr()
    assert main(["status", "--repo", str(repo)]) == 1  # not only the commands that write wiring
    assert "$.argocd.mode: must be one of: applications, applicationset" in capsys.readouterr().err


def test_the_sections_are_the_schemas_with_their_defaults() -> None:
    """One schema for rollgen.yaml: `argocd:`/`flux:` are closed and typed there (the fast check refuses a wrong
    type without jsonschema), and their defaults are written there once, read by the settings."""
    from generator.spec.config import SCHEMA
    from generator.spec.config import section as config_section
    from generator.spec.schema import load_schema, quick_check

    check = quick_check(SCHEMA)
    assert check is not None
    assert check({"argocd": {"repoURL": URL}, "flux": {"url": URL, "wait": False}})
    assert not check({"argocd": {"repoURL": URL, "prune": "yes"}})
    assert not check({"flux": {"url": URL, "intervall": "1m"}})
    for section, made, required in (("argocd", ARGO, "repoURL"), ("flux", FLUX, "url")):
        fields = load_schema(SCHEMA)["properties"][section]["properties"]
        assert all("description" in field for field in fields.values())
        defaults = {key: field["default"] for key, field in fields.items() if "default" in field}
        assert config_section({}, section) == defaults and required not in defaults
    assert (ARGO.mode, ARGO.namespace, ARGO.sync_options, ARGO.root_name, ARGO.destination) == (
        "applications", "argocd", ("CreateNamespace=true", "ApplyOutOfSyncOnly=true"), "rollgen",
        (("server", wiring.IN_CLUSTER),))
    assert (FLUX.namespace, FLUX.interval, FLUX.timeout, FLUX.source_interval, FLUX.wait) == (
        "flux-system", "1m", "5m", "1m", True)


def test_a_value_gets_one_problem_the_first_keyword_it_fails(tmp_path: Path) -> None:
    """An empty name fails its length and its pattern, a number as mode its type and the enum: one line each."""
    repo = config_repo(tmp_path, {"argocd": {"repoURL": URL, "namespace": "", "mode": 3},
                                  "notify": [{"type": "slack", "url": ""}]})
    with pytest.raises(InvalidInput) as caught:
        load_config(repo)
    lines = sorted(problem.format().split(": ", 1)[1] for problem in caught.value.problems)
    assert lines == ["$.argocd.mode: must be a non-empty string", "$.argocd.namespace: must be a non-empty string",
                     "$.notify[0].url: must be an http(s) URL (with urlFile for a URL that holds a secret); the value "
                     "is not repeated: it may be a secret"]


def test_a_missing_repo_url_says_what_it_is_for(tmp_path: Path) -> None:
    repo = config_repo(tmp_path, {"flux": {"interval": "5m"}})
    with pytest.raises(InvalidInput, match=r"\$\.flux: url is required: the URL Flux clones"):
        load_config(repo)


def test_settings_defaults_and_disabling() -> None:
    config = Config(root=Path("/x"), branch="release", output="deploy", present=True,
                    argocd={"repoURL": URL}, flux={"url": URL, "enabled": False})
    wired = wiring.from_config(config)
    assert wired.flux is None and wired.argocd is not None
    assert wired.argocd.revision == "release" and wired.prefix == "deploy/"
    assert wiring.for_config(Config(root=Path("/x"))) == wiring.Wiring()


# -- rendered, committed, pruned ----------------------------------------------------------------------------------


def config_repo(tmp_path: Path, settings: dict[str, Any], output: str = ".") -> Path:
    repo = tmp_path / "repo"
    (repo / "releases").mkdir(parents=True)
    git(repo, "init", "-q", "--initial-branch=main")
    config = {"apiVersion": "rollgen.io/v1alpha1", "kind": "Config", "output": output,
              "git": {"branch": "main"}, **settings}
    (repo / "rollgen.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return repo


def write_spec(repo: Path, example: Path, name: str = "hello", output: str = ".", released: bool = True) -> Path:
    """The spec and (`released`) a state file for each of its environments, as `rollgen release` leaves them: in
    a config repo, render writes the overlays and wiring of released environments only."""
    text = example.read_text().replace("name: hello\n", f"name: {name}\n", 1)
    path = repo / "releases" / f"{name}.yaml"
    path.write_text(text)
    for env in load_release(path).environments if released else ():
        state = repo / output / state_file.relpath(name, env.name)
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_bytes(state_file.dump(EnvState.initial(env), f"releases/{name}.yaml"))
    return path


def files_under(root: Path, *folders: str) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for f in folders for p in (root / f).rglob("*") if p.is_file())


BOTH = {"argocd": {"repoURL": URL}, "flux": {"url": URL}}


def test_render_of_the_releases_folder_writes_all_wiring_and_keeps_a_removed_release_until_retired(tmp_path: Path) -> None:
    repo = config_repo(tmp_path, BOTH)
    write_spec(repo, EXAMPLES / "hello-nginx-canary.yaml", "web")
    write_spec(repo, EXAMPLES / "hello-rollouts-canary.yaml", "api")
    assert main(["render", str(repo / "releases"), "--out", str(repo)]) == 0
    assert files_under(repo, "argocd", "flux") == [
        "argocd/api/application_api-prod.yaml", "argocd/api/application_api-staging.yaml",
        "argocd/application_rollgen.yaml",
        "argocd/web/application_web-dev.yaml", "argocd/web/application_web-prod.yaml",
        "flux/api/kustomization_api-prod.yaml", "flux/api/kustomization_api-staging.yaml",
        "flux/gitrepository_rollgen.yaml", "flux/kustomization_rollgen.yaml",
        "flux/web/kustomization_web-dev.yaml", "flux/web/kustomization_web-prod.yaml",
    ]
    for path in files_under(repo, "argocd", "flux"):
        text = (repo / path).read_text()
        assert text.startswith("# Generated by rollgen from ")
        assert validate_manifest(yaml.safe_load(text)) == []
    assert main(["render", str(repo / "releases"), "--out", str(repo), "--check"]) == 0

    # a removed spec does not take its release down: it runs until `rollgen retire` (issue 11.2), so the render
    # keeps its files as they are, and retiring its environments removes them with their wiring
    web = files_under(repo, "apps/web", "argocd/web", "flux/web")
    (repo / "releases/web.yaml").unlink()
    assert main(["render", str(repo / "releases"), "--out", str(repo), "--check"]) == 0
    assert main(["render", str(repo / "releases"), "--out", str(repo)]) == 0
    assert files_under(repo, "apps/web", "argocd/web", "flux/web") == web
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "web's spec removed")
    assert main(["retire", "web", "--env", "dev", "--repo", str(repo)]) == 0
    assert (repo / "apps/web/base").is_dir() and not (repo / "argocd/web/application_web-dev.yaml").exists()
    assert main(["retire", "web", "--env", "prod", "--repo", str(repo)]) == 0
    assert not (repo / "argocd/web").exists() and not (repo / "flux/web").exists() and not (repo / "apps/web").exists()
    assert (repo / "argocd/api").is_dir() and (repo / "apps/api").is_dir()
    assert main(["render", str(repo / "releases"), "--out", str(repo), "--check"]) == 0


def test_render_of_one_spec_touches_only_that_releases_wiring(tmp_path: Path) -> None:
    repo = config_repo(tmp_path, BOTH)
    write_spec(repo, EXAMPLES / "hello-nginx-canary.yaml", "web")
    write_spec(repo, EXAMPLES / "hello-rollouts-canary.yaml", "api")
    assert main(["render", str(repo / "releases/web.yaml"), "--out", str(repo)]) == 0
    assert files_under(repo, "argocd", "flux") == [
        "argocd/web/application_web-dev.yaml", "argocd/web/application_web-prod.yaml",
        "flux/web/kustomization_web-dev.yaml", "flux/web/kustomization_web-prod.yaml",
    ]
    assert main(["render", str(repo / "releases/api.yaml"), "--out", str(repo)]) == 0
    assert (repo / "argocd/web").is_dir()  # the other release's wiring is left alone


def test_changing_settings_moves_the_wiring(tmp_path: Path) -> None:
    repo = config_repo(tmp_path, BOTH)
    write_spec(repo, EXAMPLES / "hello-rollouts-bluegreen.yaml")
    assert main(["render", str(repo / "releases"), "--out", str(repo)]) == 0
    (repo / "rollgen.yaml").write_text(yaml.safe_dump({
        "git": {"branch": "main"}, "argocd": {"repoURL": URL, "mode": "applicationset", "rootApplication": False},
    }))
    # a mode switch waits for the old Applications to be orphaned and their files removed (docs/live-cluster.md)
    assert main(["render", str(repo / "releases"), "--out", str(repo)]) == 1
    for path in wiring.other_mode_files(repo, "applicationset"):
        (repo / path).unlink()
    assert main(["render", str(repo / "releases"), "--out", str(repo)]) == 0
    assert files_under(repo, "argocd", "flux") == ["argocd/applicationset_rollgen.yaml"]
    assert sorted(p.parent.name for p in repo.rglob(wiring.PARAMS_FILE)) == ["prod", "staging"]
    (repo / "rollgen.yaml").write_text(yaml.safe_dump({"git": {"branch": "main"}}))
    assert main(["render", str(repo / "releases"), "--out", str(repo)]) == 0
    assert files_under(repo, "argocd") == [] and not list(repo.rglob(wiring.PARAMS_FILE))


def test_rendering_elsewhere_writes_manifests_only(tmp_path: Path) -> None:
    repo = config_repo(tmp_path, BOTH)
    write_spec(repo, EXAMPLES / "hello-nginx-canary.yaml")
    preview = tmp_path / "preview"
    assert main(["render", str(repo / "releases"), "--out", str(preview)]) == 0
    assert sorted(p.name for p in preview.iterdir()) == ["apps"]


def test_an_output_folder_is_part_of_every_path_the_controllers_see(tmp_path: Path) -> None:
    repo = config_repo(tmp_path, {"argocd": {"repoURL": URL, "mode": "applicationset"}, "flux": {"url": URL}},
                       output="deploy")
    write_spec(repo, EXAMPLES / "hello-nginx-canary.yaml", output="deploy")
    assert main(["render", str(repo / "releases"), "--out", str(repo / "deploy")]) == 0
    appset = yaml.safe_load((repo / "deploy/argocd/applicationset_rollgen.yaml").read_text())
    assert appset["spec"]["generators"][0]["git"]["files"][0]["path"] == "deploy/apps/*/overlays/*/argocd-params.yaml"
    root = yaml.safe_load((repo / "deploy/argocd/application_rollgen.yaml").read_text())
    assert root["spec"]["source"]["path"] == "deploy/argocd"
    flux = yaml.safe_load((repo / "deploy/flux/hello/kustomization_hello-prod.yaml").read_text())
    assert flux["spec"]["path"] == "./deploy/apps/hello/overlays/prod"
    assert kustomize_build(repo / flux["spec"]["path"])


def test_rollgen_release_commits_the_wiring_with_the_manifests(git_remote: tuple[Path, Path]) -> None:
    _, repo = git_remote
    (repo / "rollgen.yaml").write_text(yaml.safe_dump({"argocd": {"repoURL": URL}, "flux": {"url": URL}}))
    spec = write_spec_in(repo, EXAMPLES / "hello-rollouts-canary.yaml")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "config")
    assert main(["release", str(spec), "--repo", str(repo), "--env", "staging"]) == 0
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert "argocd/hello/application_hello-staging.yaml" in changed
    assert "flux/hello/kustomization_hello-staging.yaml" in changed
    assert not (repo / "argocd/hello/application_hello-prod.yaml").exists()  # prod is not deployed yet
    assert not (repo / "argocd/application_rollgen.yaml").exists()  # repo-level: render's and init's
    assert git(repo, "status", "--porcelain") == ""

    app = repo / "argocd/hello/application_hello-staging.yaml"
    app.write_text(app.read_text().replace("selfHeal: true", "selfHeal: false"))
    # the example's prod follows staging (after: staging, soak: 1h): released now, out of order
    prod = ["release", str(spec), "--repo", str(repo), "--env", "prod", "--out-of-order"]
    assert main(prod) == 1  # a dirty wiring file
    git(repo, "checkout", "--", "argocd")
    assert main(prod) == 0
    assert (repo / "argocd/hello/application_hello-prod.yaml").is_file()


def write_spec_in(repo: Path, example: Path) -> Path:
    (repo / "releases").mkdir(exist_ok=True)
    path = repo / "releases/hello.yaml"
    path.write_text(example.read_text())
    return path


def test_a_release_named_like_the_root_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = config_repo(tmp_path, {"argocd": {"repoURL": URL, "rootApplication": "web-prod"}})
    write_spec(repo, EXAMPLES / "hello-nginx-canary.yaml", "web")
    assert main(["render", str(repo / "releases"), "--out", str(repo)]) == 1
    assert "rootApplication" in capsys.readouterr().err


def test_applicationset_mode_commits_each_environments_params_with_its_manifests(
    git_remote: tuple[Path, Path],
) -> None:
    _, repo = git_remote
    (repo / "rollgen.yaml").write_text(yaml.safe_dump({"argocd": {"repoURL": URL, "mode": "applicationset"}}))
    spec = write_spec_in(repo, EXAMPLES / "hello-flagger-canary.yaml")
    assert main(["render", str(repo / "releases"), "--out", str(repo)]) == 0
    assert not (repo / "apps").exists()  # nothing released yet: no overlay, no params file
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "config")
    assert main(["release", str(spec), "--repo", str(repo), "--env", "staging"]) == 0
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert f"apps/hello/overlays/staging/{wiring.PARAMS_FILE}" in changed  # with staging's first release
    assert not (repo / "apps/hello/overlays/prod").exists()  # prod is not released: no overlay, no params
    assert main(["render", str(repo / "releases"), "--out", str(repo), "--check"]) == 0
    params = yaml.safe_load((repo / f"apps/hello/overlays/staging/{wiring.PARAMS_FILE}").read_text())
    assert params == {"app": "hello-staging", "release": "hello", "environment": "staging",
                      "namespace": "web-staging", "destinationServer": wiring.IN_CLUSTER, "destinationName": "",
                      "engine": "flagger", "ignoreDifferences": []}


# -- one environment per namespace and cluster (issue 17 item 1) ------------------------------------------------


def _target(app: dict[str, Any]) -> tuple[str, str]:
    destination = app["spec"]["destination"]
    return destination.get("name") or destination.get("server"), destination["namespace"]


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda e: e.stem)
def test_no_two_environments_of_an_example_are_wired_to_the_same_objects(example: Path) -> None:
    """Two Applications (or Kustomizations) owning one Deployment flip it on every sync: every example's
    environments land in distinct namespace/cluster pairs, for Argo CD and for Flux alike."""
    release = release_of(example)
    apps = [_target(wiring.application(release, env, ARGO)) for env in release.environments]
    assert len(set(apps)) == len(apps), apps
    kustomizations = [wiring.kustomization(release, env, FLUX)["spec"] for env in release.environments]
    flux = [(k.get("kubeConfig", {}).get("secretRef", {}).get("name"), k["targetNamespace"]) for k in kustomizations]
    assert len(set(flux)) == len(flux), flux


def test_an_environments_cluster_is_its_argocd_destination_and_flux_kubeconfig() -> None:
    release = release_of(EXAMPLES / "hello-rollouts-canary.yaml")
    prod, staging = release.environment("prod"), release.environment("staging")
    assert wiring.application(release, prod, ARGO)["spec"]["destination"] == {"name": "prod-eu-1", "namespace": "web"}
    assert wiring.application(release, staging, ARGO)["spec"]["destination"] == {
        "server": wiring.IN_CLUSTER, "namespace": "web-staging"}
    assert wiring.kustomization(release, prod, FLUX)["spec"]["kubeConfig"] == {
        "secretRef": {"name": "prod-eu-1-kubeconfig"}}
    assert "kubeConfig" not in wiring.kustomization(release, staging, FLUX)["spec"]


def test_the_applicationset_takes_each_environments_destination_from_its_params() -> None:
    release = release_of(EXAMPLES / "hello-rollouts-canary.yaml")
    argo = wiring.argocd_settings({"repoURL": URL, "mode": "applicationset", "destinationName": "hub"})
    prod = wiring.overlay_params(release, release.environment("prod"), argo)
    staging = wiring.overlay_params(release, release.environment("staging"), argo)
    assert (prod["destinationName"], prod["destinationServer"]) == ("prod-eu-1", "")
    assert (staging["destinationName"], staging["destinationServer"]) == ("hub", "")
    template = wiring.applicationset(argo)["spec"]["template"]["spec"]["destination"]
    rendered = {k: v.replace("{{ .destinationServer }}", prod["destinationServer"])
                .replace("{{ .destinationName }}", prod["destinationName"])
                .replace("{{ .namespace }}", prod["namespace"]) for k, v in template.items()}
    assert {k: v for k, v in rendered.items() if v} == {"name": "prod-eu-1", "namespace": "web"}


@pytest.mark.parametrize("example", ["hello-nginx-canary.yaml", "hello-deployments-istio.yaml"])
def test_the_params_name_the_deployments_engine_as_they_always_have(example: str) -> None:
    """Inside, the plain-Deployments engine is `deployments` (issue 12); an ApplicationSet template may read
    `.engine`, so the params keep the name they had (model.engine_label), whichever name the spec used."""
    release = release_of(EXAMPLES / example)
    assert release.engine == "deployments"
    assert wiring.overlay_params(release, release.environments[0], ARGO)["engine"] == "nginx"


# -- switching argocd.mode (issue 17 item 10) -------------------------------------------------------------------


def _set_mode(repo: Path, mode: str) -> None:
    config = yaml.safe_load((repo / "rollgen.yaml").read_text())
    config["argocd"]["mode"] = mode
    (repo / "rollgen.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def _tree(repo: Path) -> dict[str, bytes]:
    return {p.relative_to(repo).as_posix(): p.read_bytes() for p in repo.rglob("*")
            if p.is_file() and ".git" not in p.parts and p.name != "rollgen.yaml"}


@pytest.mark.parametrize(("before", "after", "leftover"), [
    ("applications", "applicationset", "argocd/web/application_web-dev.yaml"),
    ("applicationset", "applications", "argocd/applicationset_rollgen.yaml"),
])
def test_switching_argocd_mode_under_released_environments_is_refused_until_the_old_wiring_is_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], before: str, after: str, leftover: str
) -> None:
    """Pruning the old mode's Applications (or ApplicationSet) deletes every workload through
    resources-finalizer.argocd.argoproj.io: rollgen refuses, names the files and the documented migration,
    and writes nothing; once the user has orphaned them and removed the files, the new mode is written."""
    repo = config_repo(tmp_path, {"argocd": {"repoURL": URL, "mode": before}})
    spec = write_spec(repo, EXAMPLES / "hello-nginx-canary.yaml", "web")
    assert main(["render", str(repo / "releases"), "--out", str(repo)]) == 0
    assert (repo / leftover).is_file()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", before)
    capsys.readouterr()

    _set_mode(repo, after)
    spec.write_text(spec.read_text().replace("hello:v2", "hello:v3"))  # a new version to release
    git(repo, "commit", "-q", "-am", "hello:v3")  # release takes committed specs only
    tree = _tree(repo)
    for command in (["render", str(repo / "releases"), "--out", str(repo)],
                    ["release", str(spec), "--env", "dev", "--repo", str(repo)]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert f"argocd.mode is {after}" in err and leftover in err and wiring.MODE_SWITCH_DOC in err
        assert _tree(repo) == tree  # nothing written

    # the migration: orphan in the cluster (not testable here), then remove the old mode's files
    for path in wiring.other_mode_files(repo, after):  # type: ignore[arg-type]
        (repo / path).unlink()
    assert main(["render", str(repo / "releases"), "--out", str(repo)]) == 0
    assert wiring.other_mode_files(repo, before) != []  # type: ignore[arg-type]  # the new mode's wiring


def test_the_docs_document_the_orphaning_migration() -> None:
    guide = (EXAMPLES.parent / "docs" / "live-cluster.md").read_text(encoding="utf-8")
    section = guide.split("## Switching argocd.mode", 1)[1].split("\n## ", 1)[0]
    assert "--cascade=false" in section and "--cascade=orphan" in section


def test_the_mode_switch_listing_runs_once_per_render_whatever_the_fleet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing reads the whole apps/ tree; once per release, a fleet's render grew with its square."""
    calls: list[str] = []
    listing = wiring.other_mode_files
    monkeypatch.setattr(wiring.files, "other_mode_files", lambda out, mode: calls.append(mode) or listing(out, mode))
    repo = config_repo(tmp_path, {"argocd": {"repoURL": URL}})
    for name in ("web", "api", "shop", "cart"):
        write_spec(repo, EXAMPLES / "hello-nginx-canary.yaml", name).write_text(
            (repo / "releases" / f"{name}.yaml").read_text().replace("hello.example.com", f"{name}.example.com"))
    assert main(["render", str(repo / "releases"), "--out", str(repo)]) == 0
    assert calls == ["applications"]
