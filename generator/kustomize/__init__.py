"""The kustomize emulator: an overlay built in-process, what `kubectl kustomize` gives (for `rollgen plan` and
`--dry-run`). `build` (the kustomization: resources, namespace, images, patches), `config_generator`
(configMapGenerator and its content-hash names), `strategic_merge` (strategic-merge patches). Import the module
you need: the package imports nothing, so naming it costs no yaml import.
"""
