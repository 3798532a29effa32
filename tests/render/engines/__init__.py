"""Renderer tests; shared assertions for what every engine must do alike."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def assert_ports_named(manifests: Iterable[dict[str, Any]], name: str, workload: str) -> None:
    """spec.service.portName names the container port, the Service port and targetPort, and Ingress backends."""
    manifests = list(manifests)
    for obj in (m for m in manifests if m["kind"] == workload):
        (container,) = obj["spec"]["template"]["spec"]["containers"]
        assert [p["name"] for p in container["ports"]] == [name]
    for svc in (m for m in manifests if m["kind"] == "Service"):
        assert svc["spec"]["ports"] == [{"name": name, "port": 5000, "targetPort": name, "protocol": "TCP"}]
    for ing in (m for m in manifests if m["kind"] == "Ingress"):
        assert ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"] == {"name": name}
