"""Stopping a child process we started (a private JACK server, the real-time core, a test's browser)."""
from __future__ import annotations

import subprocess


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM (a graceful exit: ours panic and save first), then SIGKILL if it is still there."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
