"""A JACK MIDI listener in a process of its own: prints `<perf_counter> <hex bytes>` for every message that
arrives on the named port, until its stdin closes.

Why a process: python-rtmidi calls a port's callback from the JACK process thread, which then waits for the
interpreter lock. Inside the instrument's process that lock is busy (clock thread, TUI); on a loaded machine
the wait outlasted the 2.7 ms period, jackd logged "RtMidiIn Client was not finished" xruns and the listener
missed messages (the density-16 panic test failed this way). A real listener is another process anyway."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import mido


class ProcessListener:
    """Runs this module as a child and collects (arrival time, Message) from it."""

    def __init__(self, port_suffix: str, env: dict | None = None, timeout: float = 10.0):
        self.lock = threading.Lock()
        self.received: list[tuple[float, mido.Message]] = []
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.live.jack_listener", port_suffix], cwd=root,
                                     env={**os.environ, **(env or {}), "PYTHONPATH": root}, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(timeout):
            self.close()
            raise RuntimeError(f"JACK listener for a port ending in {port_suffix!r} did not start")

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("ready"):
                self.ready.set()
                continue
            at, data = line.split(" ", 1)
            with self.lock:
                self.received.append((float(at), mido.Message.from_hex(data.strip())))

    def snapshot(self) -> list:
        with self.lock:
            return list(self.received)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        self.reader.join(timeout=5)


def main(port_suffix: str) -> None:
    backend = mido.Backend("mido.backends.rtmidi", api="UNIX_JACK")
    name = next(n for n in backend.get_input_names() if n.endswith(port_suffix))

    def on_message(msg):
        print(f"{time.perf_counter()} {msg.hex()}", flush=True)

    with backend.open_input(name, callback=on_message):
        print("ready", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1])
