"""Write a file atomically (temp file + os.replace) with the permissions an ordinary open() would give."""
from __future__ import annotations

import os
import tempfile


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str, write, suffix: str = "") -> str:
    """Call write(binary_file) on a temp file next to `path`, then rename it over `path`. mkstemp makes the
    temp file 0600 and the mode survives the rename: set 0666 minus the umask, as open() would."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".recording-", suffix=suffix, dir=folder)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path
