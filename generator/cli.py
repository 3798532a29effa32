"""Command line: argument parsing and the one place where errors become exit codes.

Command implementations live in generator/commands/<name>.py and are imported only when run, so that
`rollgen validate` (a pre-commit hook, run constantly) pays only for what it uses.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import cast

from generator import __version__, helptext
from generator.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_USAGE, EXIT_USER, RollgenError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"rollgen: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, except that the example after the options keeps its lines."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("example:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def _repo_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", type=Path, default=Path("."), metavar="DIR",
                        help="the config repository (default: the git repository of the current folder)")


def _progression_options(parser: argparse.ArgumentParser, env_required: bool = True, env_help: str = "") -> None:
    _repo_option(parser)
    parser.add_argument("--env", required=env_required, metavar="ENV",
                        help=env_help or ("the environment, as the spec names it" if env_required
                        else "only this environment (default: every environment of the spec, in its order)"))
    parser.add_argument("--push", action="store_true", help="push the commit to the configured remote")
    parser.add_argument("--now", metavar="TIME",
                        help="act as if it were TIME (RFC 3339, e.g. 2026-05-04T10:00:00Z), for tests and demos")
    parser.add_argument("--dry-run", action="store_true",
                        help="show what would be committed (as `rollgen plan`); write nothing")
    _format_option(parser)


def _validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="release spec files, or folders of them")
    _format_option(p)


def _render(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="release spec files, or folders of them")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="where apps/<name>/ is written")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if DIR is out of date")
    _format_option(p)


def _release(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", type=Path, metavar="SPEC", help="the release spec (committed, when inside the repo)")
    _progression_options(p, env_required=False)
    p.add_argument("--retry", action="store_true", help="start an aborted canary again")
    p.add_argument("--out-of-order", action="store_true",
                   help="with --env: release it although the environment it follows (environments[].after) has not "
                   "promoted and soaked this version; recorded in the commit (Rollgen-Override: order)")


def _name_and_progression(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the release (metadata.name of its spec)")
    _progression_options(p)


def _advance(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", nargs="?", help="the release (not with --all)")
    _progression_options(p, env_required=False, env_help="the environment, as the spec names it (required with "
                         "NAME); with --all, only this environment of every release")
    p.add_argument("--all", action="store_true",
                   help="every in-flight environment of every release, one commit each, one push at the end")
    p.add_argument("--metrics-file", type=Path, metavar="PATH",
                   help="with --all: after the tick, write every environment's state there in the Prometheus "
                   "text format, atomically (for node-exporter's textfile collector)")
    p.add_argument("--cluster", metavar="C",
                   help="with --all: only the environments on cluster C (environments[].cluster; those without one "
                   "are on rollgen.yaml's argocd.destinationName, else `in-cluster`): one tick per cluster")


def _promote(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the release (metadata.name of its spec)")
    _progression_options(p)
    p.add_argument("--full", action="store_true", help="go straight to 100%%")


def _rollback(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the release (metadata.name of its spec)")
    _progression_options(p)
    p.add_argument("--to", metavar="IMAGE",
                   help="the image to go back to (default: the last promoted version before the current one)")


def _retire(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the release (its spec may be gone)")
    _repo_option(p)
    p.add_argument("--env", required=True, help="the environment to take down (no longer in the spec)")
    p.add_argument("--push", action="store_true", help="push the commit to the configured remote")
    _format_option(p)


def _status(p: argparse.ArgumentParser) -> None:
    _repo_option(p)
    p.add_argument("--now", metavar="TIME",
                   help="judge waits and freezes as if it were TIME (RFC 3339), for tests and demos")
    p.add_argument("--format", choices=("text", "json", "prometheus"), default="text",
                   help="output format (prometheus: the text exposition format, docs/notifications.md)")


def _history(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the release (metadata.name of its spec)")
    p.add_argument("--env", metavar="ENV", help="only this environment")
    _repo_option(p)
    _format_option(p)


def _report(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="the HTML file to write")
    _repo_option(p)
    p.add_argument("--now", help="the report's time (RFC 3339; default: the clock): charts of what is in flight run to it")


def _plan(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME|SPEC", help="a release name, or the path of its spec")
    p.add_argument("--env", help="only this environment (default: every environment, in the spec's order)")
    p.add_argument("--repo", type=Path, default=Path("."), help="the config repository")
    p.add_argument("--action", choices=("next", "release", "advance", "promote", "abort"), default="next",
                   help="the action to plan; next: what `release` would commit, else what `advance` would")
    p.add_argument("--now", help="the current time (RFC 3339)")
    _format_option(p)


def _set_image(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the release (metadata.name of its spec under releases/)")
    p.add_argument("image", metavar="IMAGE", help="the new image, with a tag or a digest")
    p.add_argument("--env", help="set this environment's own image (added if absent)")
    _repo_option(p)
    p.add_argument("--commit", action="store_true", help="commit the spec alone (trailer Rollgen-Action: set-image)")


def _init(p: argparse.ArgumentParser) -> None:
    from generator.router_facts import DEFAULT, ROUTERS

    # The routers init has a first release for (init_templates/releases/hello-<engine>-<router>.yaml): a router
    # is registered without them, and offered here once they exist.
    releases = Path(__file__).parent / "init_templates" / "releases"
    routers = tuple(name for name in ROUTERS if name == DEFAULT or any(releases.glob(f"hello-*-{name}.yaml")))
    p.add_argument("dir", type=Path, metavar="DIR",
                   help="the folder to make the config repo in (created if missing; its origin remote, if any, "
                   "goes into the wiring)")
    p.add_argument("--gitops", choices=("argocd", "flux", "both"), default="argocd",
                   help="which GitOps tool's wiring to write (default: %(default)s)")
    p.add_argument("--engine", choices=("argo-rollouts", "flagger", "deployments", "nginx"), default="argo-rollouts",
                   help="the engine of the first release, releases/hello.yaml (default: %(default)s)")
    p.add_argument("--router", choices=routers, default=DEFAULT,
                   help="the router of the first release (default: %(default)s)")
    p.add_argument("--tick", choices=("kubernetes",),
                   help="also write tick/: a Kustomize package running `rollgen advance --all --push` as a CronJob "
                   "in the cluster, wired like the releases")


# name: (the line in `rollgen --help`, what declares the command's arguments)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "validate": ("validate release specs (files or folders); writes nothing", _validate),
    "render": ("write the generated Kustomize tree", _render),
    "release": ("render a spec into the repo and commit (deploy, or start a canary)", _release),
    "advance": ("go one step further if the pause has elapsed and the gates pass", _advance),
    "promote": ("approve: pass the current pause", _promote),
    "abort": ("all traffic back to stable, canary down", _name_and_progression),
    "rollback": ("straight back to the last promoted version (or --to IMAGE), no canary; sets the spec too",
                 _rollback),
    "retire": ("take down an environment the spec no longer has (its own commit)", _retire),
    "status": ("every release and environment: phase, step, weight, images, since", _status),
    "history": ("the actions recorded in commit trailers for one release", _history),
    "report": ("a self-contained HTML page: every release and environment, its steps over time, gates, actors",
               _report),
    "init": ("create a working config repository", _init),
    "plan": ("what the next action would commit, as a diff of the built objects; writes nothing", _plan),
    "set-image": ("edit a spec's image in place, keeping comments and layout byte for byte", _set_image),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `command`, only that command, as the pre-commit hook needs: every
    parser costs argparse's gettext look-ups (~0.15 ms each in a new process)."""
    parser = _Parser(prog="rollgen", description="Progressive-delivery manifests from a release spec, promoted through git.")
    parser.add_argument("--version", action="version", version=f"rollgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, (summary, declare) in COMMANDS.items():
        if command is None or command == name:
            description = helptext.HELP.get(name, (summary, ""))[0]
            declare(sub.add_parser(name, help=summary, description=description, epilog=helptext.epilog(name),
                                   formatter_class=_Formatter))
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The command when it is the first word (`rollgen validate ...`); None otherwise, so that `rollgen`,
    `rollgen --help`, `rollgen -h validate` and an unknown command see every command listed."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def _bug_log(exc: BaseException) -> Path | None:
    """Where the traceback was written; None when no log could be written safely (then there is none).

    First ~/.cache/rollgen/rollgen-crash.log (appended). When that is unusable, a new file of a unique name in
    the temporary folder, created exclusively: a shared /tmp may hold a symlink or a folder planted under a
    predictable name, and the traceback must not be appended to wherever that leads. Neither open follows a
    symlink."""
    import tempfile  # here, not at the top: together with traceback ~8 ms that a working run never needs
    import traceback

    text = f"rollgen {__version__} argv={sys.argv!r}\n" + "".join(traceback.format_exception(exc))
    log_dir = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rollgen"
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        log = log_dir / "rollgen-crash.log"
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)  # FIFO: no wait
        _write_log(os.open(log, flags, 0o600), text)
        return log
    except OSError:
        pass
    try:
        fd, name = tempfile.mkstemp(prefix="rollgen-crash-", suffix=".log")  # O_EXCL, mode 0600, unique
        _write_log(fd, text)
        return Path(name)
    except OSError:
        return None


def _write_log(fd: int, text: str) -> None:
    import stat

    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise OSError("not a regular file")
        fh.write(text)


# errno values that say what the machine is like, not a bug of rollgen's: no permission, a read-only file system,
# no space left. (A missing file is not among them: rollgen checks the paths it is given, so one is a bug.)
_SITUATION_ERRNOS = frozenset({1, 13, 28, 30, 122})  # EPERM, EACCES, ENOSPC, EROFS, EDQUOT (Linux's numbers;
# the errno module is not imported for them: ~1 ms of every start)


def _closed_streams() -> None:
    """A closed stdout or stderr (`rollgen status >&-`) is None in Python: writes to it are dropped, as the shell
    asked, instead of failing as a bug."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the process's life
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def _to_devnull(stream: object) -> None:
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, cast("int", getattr(stream, "fileno")()))
    except (OSError, ValueError, AttributeError):
        pass  # an in-process caller's stream (tests): nothing to redirect


def _import_command(name: str, entry: bool) -> ModuleType:
    """The command's module. As the process's entry point (argv from sys.argv), with the garbage collector off
    while it and what it needs are imported (imports make objects that live until the process ends, and 30-odd
    collections walked them again: ~6 ms of a ~120 ms `advance`), then frozen: those objects are left out of every
    later collection and the one at exit too (~8% of a cold `rollgen validate`). An in-process caller (tests)
    passes argv and is left alone: freezing there would keep whatever garbage the caller had at that moment."""
    if not entry:
        return importlib.import_module(name)
    import gc

    gc.disable()
    try:
        return importlib.import_module(name)
    finally:
        gc.freeze()
        gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    _closed_streams()
    words = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command(words)).parse_args(words)
    try:
        from generator.arguments import check_arguments

        check_arguments(args)  # NAME and --env, for every command: they become paths
        module = _import_command(f"generator.commands.{args.command.replace('-', '_')}", entry=argv is None)
        code: int = module.run(args)
        if argv is None:
            sys.stdout.flush()  # here, where a reader gone away is handled, not in the interpreter's exit
        return code
    except RollgenError as exc:
        print(f"rollgen: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("rollgen: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`rollgen history | head -1`): what it wanted, it has. Quiet, no crash log; the
        # rest of the output goes nowhere, so the interpreter's own flush at exit does not fail again.
        _to_devnull(sys.stdout)
        return EXIT_USER
    except OSError as exc:
        if exc.errno not in _SITUATION_ERRNOS:
            return _bug(exc)
        # the file system's answer, not a bug: a folder not writable, a disk full
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"rollgen: {where}{exc.strerror or exc}; check the path's permissions and the free space",
              file=sys.stderr)
        return EXIT_USER
    except Exception as exc:  # noqa: BLE001 - the one place a bug becomes exit 3
        return _bug(exc)


def _bug(exc: Exception) -> int:
    """A bug: the one line that says so, and the traceback in the crash log."""
    try:
        log = _bug_log(exc)
    except Exception:  # noqa: BLE001 - reporting a bug must not raise another
        log = None
    print(f"rollgen: internal error ({type(exc).__name__}: {exc}); this is a bug.", file=sys.stderr)
    if log is None:
        print("rollgen: no crash log could be written (the cache and temporary folders are unusable)",
              file=sys.stderr)
    else:
        print(f"rollgen: the traceback is in {log}", file=sys.stderr)
    return EXIT_BUG
