"""The tick's push over ssh, for real (issue 25 item 6): Debian's sshd on 127.0.0.1 with a generated host key
and a deploy key, serving a bare config repo; the CronJob's exact command lines (the clone, then `rollgen
advance --all --push`) run with the Secret's layout mounted as files in a temp folder, with strict host key
checking, and the step lands on the remote. An unpinned host key is refused."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from tests.conftest import git, require_tool
from tests.validators import kustomize_build

pytestmark = pytest.mark.slow  # a real sshd

SPEC = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata: {{name: hello, namespace: test}}
spec:
  engine: nginx
  image: ghcr.io/kmaster8/hello:{tag}
  containerPort: 5050
  service: {{port: 5000}}
  ingress: {{host: hello.example.com}}
  strategy:
    canary:
      steps: [{{weight: 10, pause: 1s}}, {{weight: 50, pause: 1s}}]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def keygen(path: Path) -> str:
    subprocess.run([require_tool("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
                   check=True, capture_output=True)
    return path.with_suffix(".pub").read_text().strip()


@dataclass
class Sshd:
    port: int
    host_key: str  # the public host key, as known_hosts names it
    process: subprocess.Popen[bytes]


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[tuple[Sshd, Path]]:
    """sshd on 127.0.0.1 accepting the deploy key only; (the server, the deploy key's private half)."""
    binary = "/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else require_tool("sshd")
    folder = tmp_path / "sshd"
    folder.mkdir()
    host_public = keygen(folder / "host_key")
    deploy_public = keygen(tmp_path / "deploy_key")
    (folder / "authorized_keys").write_text(deploy_public + "\n")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation (Debian's unit makes it at boot)
    for _ in range(3):  # a free port can be taken between our check and sshd binding it
        port = free_port()
        config = folder / "sshd_config"
        config.write_text("\n".join([
            f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {folder / 'host_key'}",
            f"AuthorizedKeysFile {folder / 'authorized_keys'}", f"PidFile {folder / 'sshd.pid'}",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password", "StrictModes no", "UsePAM no", "LogLevel ERROR", "",
        ]))
        process = subprocess.Popen([binary, "-D", "-e", "-f", str(config)], stderr=(folder / "log").open("wb"))
        if _listening(port, process):
            yield Sshd(port, host_public.rsplit(" ", 1)[0], process), tmp_path / "deploy_key"
            process.terminate()
            process.wait(timeout=10)
            return
        process.kill()
        process.wait(timeout=10)
    raise RuntimeError(f"sshd did not start: {(folder / 'log').read_text()[-2000:]}")


def _listening(port: int, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def config_repo_on(tmp_path: Path, url: str) -> Path:
    """A bare remote holding a config repo made by `rollgen init --tick kubernetes` (its origin: `url`), with
    a canary in flight; returns the bare repo. The seeding clone pushes over the file system."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "--quiet", str(bare), str(seed))
    git(seed, "checkout", "-q", "-B", "main")
    git(seed, "remote", "set-url", "origin", url)
    assert main(["init", str(seed), "--gitops", "argocd", "--tick", "kubernetes"]) == 0
    spec = seed / "releases" / "hello.yaml"
    for tag in ("v1", "v2"):
        spec.write_text(SPEC.format(tag=tag))
        git(seed, "add", "releases")
        git(seed, "commit", "-q", "-m", f"hello {tag}")
        assert main(["release", str(spec), "--repo", str(seed)]) == 0
    git(seed, "push", "-q", str(bare), "main")
    return seed


def container_paths(tmp_path: Path) -> dict[str, str]:
    """The pod's mounts, as folders of this test: the Secret layout is files, as a volume would give them."""
    return {
        "/etc/rollgen/git": str(tmp_path / "mounts" / "git"),
        "/var/run/secrets/rollgen": str(tmp_path / "mounts" / "prometheus"),
        "/workspace": str(tmp_path / "mounts" / "work"),
        "/var/lib/rollgen/metrics": str(tmp_path / "mounts" / "metrics"),
    }


def mapped(text: str, paths: dict[str, str]) -> str:
    pattern = re.compile("|".join(re.escape(p) for p in sorted(paths, key=len, reverse=True)))
    return pattern.sub(lambda m: paths[m.group(0)], text)


def run_container(container: dict[str, Any], paths: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One container's command, exactly, with its env (paths mapped); PATH finds git, ssh and this rollgen."""
    env = {e["name"]: mapped(e["value"], paths) for e in container["env"]}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")])
    command = [mapped(word, paths) for word in container["command"]]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=120)


def mount_secrets(tmp_path: Path, deploy_key: Path, known_hosts: str) -> None:
    git_dir = tmp_path / "mounts" / "git"
    git_dir.mkdir(parents=True)
    shutil.copy(deploy_key, git_dir / "identity")
    (git_dir / "identity").chmod(0o600)
    (git_dir / "known_hosts").write_text(known_hosts)
    (tmp_path / "mounts" / "prometheus").mkdir()
    (tmp_path / "mounts" / "work").mkdir()
    (tmp_path / "mounts" / "metrics").mkdir()


def the_cronjob(seed: Path) -> dict[str, Any]:
    built = {obj["kind"]: obj for obj in kustomize_build(seed / "tick")}
    pod: dict[str, Any] = built["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pod


def test_the_cronjob_clones_advances_and_pushes_over_ssh(sshd: tuple[Sshd, Path], tmp_path: Path) -> None:
    server, deploy_key = sshd
    url = f"ssh://root@127.0.0.1:{server.port}{tmp_path / 'remote.git'}"
    seed = config_repo_on(tmp_path, url)
    pod = the_cronjob(seed)
    assert pod["initContainers"][0]["command"][6] == url  # init took the clone URL from the origin remote
    mount_secrets(tmp_path, deploy_key, f"[127.0.0.1]:{server.port} {server.host_key}\n")
    paths = container_paths(tmp_path)
    time.sleep(1.1)  # the first step's 1s pause

    cloned = run_container(pod["initContainers"][0], paths)
    assert cloned.returncode == 0, cloned.stderr
    ticked = run_container(pod["containers"][0], paths)
    assert ticked.returncode == 0, ticked.stdout + ticked.stderr
    assert "hello/default: step 2/2" in ticked.stdout and "pushed" in ticked.stdout

    remote = tmp_path / "remote.git"
    subject = git(remote, "log", "-1", "--format=%s%n%an", "main")
    assert subject.startswith("hello/default: step 2/2") and subject.strip().endswith("rollgen-tick")
    # nothing was written outside the mounts: the root filesystem of the pod is read-only
    assert (tmp_path / "mounts" / "work" / "repo" / ".git").is_dir()
    # the metrics textfile, on the claim's mount, for the collector (issue 26)
    metrics = (tmp_path / "mounts" / "metrics" / "rollgen.prom").read_text()
    assert "rollgen_tick_last_success_timestamp_seconds " in metrics and "rollgen_tick_moved 1" in metrics
    assert 'rollgen_canary_weight{release="hello",environment="default"' in metrics


def test_an_unpinned_host_key_is_refused(sshd: tuple[Sshd, Path], tmp_path: Path) -> None:
    server, deploy_key = sshd
    url = f"ssh://root@127.0.0.1:{server.port}{tmp_path / 'remote.git'}"
    seed = config_repo_on(tmp_path, url)
    other = keygen(tmp_path / "impostor").rsplit(" ", 1)[0]  # a known_hosts pinning another key
    mount_secrets(tmp_path, deploy_key, f"[127.0.0.1]:{server.port} {other}\n")
    cloned = run_container(the_cronjob(seed)["initContainers"][0], container_paths(tmp_path))
    assert cloned.returncode != 0
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in cloned.stderr or "Host key verification failed" in cloned.stderr
