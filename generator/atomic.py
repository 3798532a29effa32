"""One way to replace a file rollgen writes outside a git commit (`set-image` and `rollback` on a spec, `report
--out`, the tick's metrics file): old bytes or new, never half, whatever a reader or a crash sees."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def replace_file(path: Path, data: bytes) -> None:
    """Write a temporary file beside `path` and rename it over `path`.

    The temporary file is created exclusively and without following a symlink (a link planted at its name cannot
    redirect the write), flushed to disk before the rename, and named `.NAME.rollgen-PID.tmp`: a collector that reads
    only `*.prom` files never reads it. An existing file keeps its permissions; a symlink at `path` is replaced,
    not followed. Raises OSError; the temporary file is gone either way."""
    try:
        mode: int | None = stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        mode = None
    tmp = path.with_name(f".{path.name}.rollgen-{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666 if mode is None else mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
