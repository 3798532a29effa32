"""What each command's `--help` says beyond its options: a description and an example (shown after the options).

Read by generator.cli.build_parser, for the one command run (or for all of them, for `rollgen --help`). The commands
reference, docs/reference/commands.md, is generated from these and the options (python -m generator.docs).
"""

from __future__ import annotations

# command: (description, example command lines)
HELP: dict[str, tuple[str, str]] = {
    "validate": (
        "Check release specs against the schema and rollgen's rules, without writing anything. Every problem is "
        "one line, FILE:LINE:COL: $.path: message; a folder is searched for *.yaml specs, and two specs of one "
        "name are reported at each. Exit 1 when any problem is found. The pre-commit hook rollgen-validate runs "
        "this.",
        "rollgen validate releases/\nrollgen validate releases/hello.yaml --format json",
    ),
    "render": (
        "Write the Kustomize tree of the specs into DIR: apps/<name>/base and apps/<name>/overlays/<env>, plus "
        "the Argo CD and Flux wiring that rollgen.yaml asks for. In a config repo only released environments "
        "are written, at their committed state; elsewhere every environment, at its initial state. rollgen "
        "never overwrites a file it did not generate. --check writes nothing and exits 1 when DIR is out of "
        "date (the pre-commit hook rollgen-render-check).",
        "rollgen render examples/orders-api.yaml --out /tmp/preview\nrollgen render releases --out . --check",
    ),
    "release": (
        "Render the spec into the config repo and commit, one commit per environment in the spec's order: the "
        "first release deploys straight to stable; a new version (image, container, pod, config, security) "
        "starts a canary at step 1, or a blue-green preview; other changes are committed as a configuration "
        "update. The spec must be committed as it is. A canary that was aborted is not started again for the "
        "same version unless --retry says so. An environment with `after:` starts only once its upstream runs "
        "that version promoted and soaked; until then it is waiting (no commit) and `advance` starts it. Inside "
        "a freeze window nothing starts (exit 0, no commit).",
        "rollgen release releases/hello.yaml --env staging\nrollgen release releases/hello.yaml --retry --push",
    ),
    "advance": (
        "The scheduled tick: commit the next step of an environment's canary once its pause has elapsed and its "
        "analysis gates pass, or promote after the last step; otherwise say why not and exit 0. A failed gate "
        "aborts (exit 1). On the nginx engine the promotion keeps the canary's traffic for spec.settleDelay "
        "(default 1m) before scaling it down. --all ticks every in-flight environment of every release, and "
        "starts every waiting one whose upstream has promoted and soaked, one commit each and one push at the "
        "end; with --metrics-file it then writes every environment's state in the Prometheus text format, "
        "atomically, for node-exporter's textfile collector (docs/notifications.md). Inside a freeze window no "
        "step is taken (exit 0, no commit).",
        "rollgen advance hello --env staging\nrollgen advance --all --repo . --push\n"
        "rollgen advance --all --push --metrics-file /var/lib/node-exporter/textfile/rollgen.prom",
    ),
    "promote": (
        "A person's approval: pass the current pause (a step without pause waits for this), or with --full go "
        "straight to 100%. Gates are not consulted. Run again while the nginx engine's promotion settles, it "
        "waits out spec.settleDelay like advance. A controller-driven release is refused with the "
        "controller's own command.",
        "rollgen promote hello --env prod\nrollgen promote hello --env prod --full --push",
    ),
    "abort": (
        "Send all traffic back to stable and take the canary down, in one commit. The version stays aborted: "
        "`rollgen release --retry` starts it again.",
        "rollgen abort hello --env prod --push",
    ),
    "rollback": (
        "Go straight back to the last promoted version, with no canary, in one commit: during a canary the stable "
        "side, otherwise the version before the current one (or --to IMAGE). The spec's environment gets that "
        "image too, so the next release does not ship the bad version again; `rollgen set-image NAME IMAGE --env E` "
        "moves it on. Works during a change freeze; refused for a release its controller steps.",
        "rollgen rollback hello --env prod --push\nrollgen rollback hello --env prod --to ghcr.io/acme/hello:1.4.1",
    ),
    "retire": (
        "Take down an environment the spec no longer lists (or every environment of a release whose spec is "
        "gone): its overlay, state and wiring are removed in their own commit. Refused while the spec still "
        "lists the environment.",
        "rollgen retire hello --env prod --push",
    ),
    "status": (
        "Every release and environment of the config repo: phase, step, the newest version's traffic weight, "
        "stable and canary images, what the canary changes, and the time of the last action (UTC). --format "
        "prometheus prints the same in the Prometheus text format (rollgen_canary_weight, rollgen_canary_status "
        "with Flagger's encoding, ...; docs/notifications.md).",
        "rollgen status\nrollgen status --format json\nrollgen status --format prometheus",
    ),
    "history": (
        "The actions of one release, newest first, read back from the Rollgen-* trailers of the commits.",
        "rollgen history hello --env prod",
    ),
    "report": (
        "Write one self-contained HTML page (inline CSS and SVG, no script, nothing fetched) of every release and "
        "environment: what is in flight or waiting now, the newest version's weight over time as a chart, and "
        "each action with its time, actor (the commit's author), commit and failed gates. For a CI artifact.",
        "rollgen report --out report.html\nrollgen report --out /tmp/report.html --repo config-repo",
    ),
    "init": (
        "Create a working config repository in DIR and commit it: rollgen.yaml, a first release "
        "releases/hello.yaml for the chosen engine and router, .pre-commit-config.yaml, the Argo CD and/or Flux "
        "wiring, and a scheduled `rollgen advance` workflow. Nothing is deployed until `rollgen release`.",
        "rollgen init platform-config --gitops flux --engine flagger --router gateway-api",
    ),
    "plan": (
        "Run the committing pipeline up to the commit and stop: for each environment, the subject and trailers, "
        "the live weight before and after, the images, and a unified diff of the objects the overlays build "
        "to. Nothing is written, fetched or pushed. Exit 1 when the action would be refused.",
        "rollgen plan hello --env staging\nrollgen plan releases/hello.yaml --action promote --format json",
    ),
    "set-image": (
        "Set a release's image in its spec, changing only the image's characters (comments, layout, quoting "
        "and line ends are kept). Nothing is deployed until `rollgen release`. Refused when the spec is or "
        "would be invalid, or an image lacks a digest that requireDigest asks for.",
        "rollgen set-image hello ghcr.io/acme/hello:1.4.2 --commit\n"
        "rollgen set-image hello ghcr.io/acme/hello:1.4.2 --env staging",
    ),
}


def epilog(command: str) -> str | None:
    """The example block after the options, or None for a command without one."""
    entry = HELP.get(command)
    if entry is None:
        return None
    return "example:\n" + "".join(f"  {line}\n" for line in entry[1].splitlines())
