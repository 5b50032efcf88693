"""A private JACK server with the dummy driver (no sound card needed), for real MIDI routing in tests/bench."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from live.processes import stop_process

JACKD = ("jackd", "-R", "-d", "dummy", "-r", "48000", "-p")
PERIOD = 128  # frames: 2.67 ms at 48 kHz, JACK MIDI's delivery granularity


class JackError(RuntimeError):
    pass


def _running_server_names() -> set[str]:
    names = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"jackd") and b"-n" in args[:-1]:
            names.add(args[args.index(b"-n") + 1].decode(errors="replace"))
    return names


def _free_name(pool: int = 6) -> str:
    running = _running_server_names()
    for n in range(pool):
        if f"prnn-test-{n}" not in running:
            return f"prnn-test-{n}"
    raise JackError(f"all {pool} test JACK server names are in use: stop some jackd processes")


class JackServer:
    """`with JackServer() as jack:` starts `jackd -n prnn-test-<n>` and waits until it answers; jack.env
    holds the variables a client needs. Stopping waits for the process to exit (a new server with the same
    name cannot start before that).

    Names come from a small fixed pool, the first not in use by a running jackd: jackd keeps at most 8
    servers in its shared registry, and a server killed uncleanly keeps its slot until a server of the same
    name starts again; unique names would use the slots up for good."""

    def __init__(self, name: str | None = None, ready_timeout: float = 10.0, period: int = PERIOD):
        self.name = name or _free_name()
        self.ready_timeout = ready_timeout
        self.period = period
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="jackd-", suffix=".log", delete=False)

    @property
    def env(self) -> dict:
        return {"JACK_DEFAULT_SERVER": self.name, "MIDO_BACKEND": "mido.backends.rtmidi/UNIX_JACK",
                "JACK_NO_AUDIO_RESERVATION": "1"}

    def start(self) -> "JackServer":
        if shutil.which("jackd") is None:
            raise JackError("jackd is not installed; run `make jack` (apt-get install jackd2)")
        cmd = [JACKD[0], "-n", self.name, *JACKD[1:], str(self.period)]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **self.env})
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise JackError(f"jackd exited with {self.proc.returncode}: {self.read_log()[-800:]}")
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise JackError(f"jackd did not answer within {self.ready_timeout} s: {self.read_log()[-800:]}")

    def _answers(self) -> bool:
        probe = subprocess.run(["jack_lsp"], env={**os.environ, **self.env}, capture_output=True, timeout=5)
        return probe.returncode == 0 and b"system:" in probe.stdout

    def read_log(self) -> str:
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None:
            return
        stop_process(self.proc, timeout)
        self.proc = None
        os.unlink(self.log.name)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
