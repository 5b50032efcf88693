"""MIDI output to JACK without RtMidi, placed on the exact frame: a small child process owns the JACK port and
writes each message at the frame offset of its send time, one period later.

Why: RtMidi's JACK output writes every message at frame 0 of the next period, so what the instrument sends
on absolute deadlines reaches a DAW quantised to the period (2.7 ms at 128 frames): a 25 ms MIDI clock tick
arrives 9 or 10 periods after the last one. Here each message carries its send time (CLOCK_MONOTONIC, which
JACK's clock also counts), and the child's process callback writes it at the frame that is that time plus
one period: a constant latency of one period instead of a jitter of one.

The child also guards the notes: if the instrument dies without closing the port (kill -9, a crash), the
pipe ends without the goodbye frame, and the child ends every note it passed on (note-offs, then CC 123 and
CC 120 on all channels) before it goes.

Pipe protocol (parent -> child): frames of an 8-byte little-endian double (the send time, time.perf_counter
seconds), a 2-byte little-endian length, and that many bytes (one MIDI message); a frame of length 0 is the
goodbye. (child -> parent): one text line, "ok <latency in seconds> <full port name>" or "error <text>"."""
from __future__ import annotations

import os
import select
import struct
import subprocess
import sys
import threading
import time

from .clock import CLOCK_PRIORITY, make_realtime
from .jack_midi_in import _grow_pipe, _write_all

HEADER = struct.Struct("<dH")
GOODBYE = HEADER.pack(0.0, 0)
CLOSE_SECONDS = 5.0


class JackMidiOutput:
    """A JACK MIDI output port `client_name:port_name` connected to `destinations`. send() never blocks: what
    the pipe cannot take now waits in a backlog that the next send or the close flushes."""

    def __init__(self, client_name: str, port_name: str, destinations=()):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._child = subprocess.Popen([sys.executable, "-m", "live.jack_midi_out", client_name, port_name,
                                        *destinations], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.closed = False
        header = self._child.stdout.readline().decode(errors="replace").strip()
        if not header.startswith("ok "):
            self._end()
            raise OSError(header.removeprefix("error ") or "the JACK MIDI output process ended at start")
        _, latency, self.name = header.split(" ", 2)
        self.latency = float(latency)  # seconds from send() to the frame it sounds on: one period
        self._fd = self._child.stdin.fileno()
        os.set_blocking(self._fd, False)
        self._backlog = bytearray()

    def send(self, msg) -> None:
        data = bytes(msg.bytes())
        self._backlog += HEADER.pack(time.perf_counter(), len(data)) + data
        self._flush()

    def _flush(self) -> None:
        try:
            del self._backlog[:os.write(self._fd, self._backlog)]
        except BlockingIOError:  # the child is behind: the rest goes with the next send
            pass

    def close(self) -> None:
        """Everything sent reaches the port before the child goes (the goodbye: no guard panic)."""
        if self.closed:
            return
        self.closed = True
        try:
            _write_all(self._fd, bytes(self._backlog) + GOODBYE)
        except OSError:  # the child is gone (its server died)
            pass
        self._end()

    def _end(self) -> None:
        try:
            self._child.stdin.close()
        except OSError:
            pass
        try:
            self._child.wait(timeout=CLOSE_SECONDS)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()


# ---- the child process ---------------------------------------------------------------------------------------

class _Placer:
    """The child's state, touched only by JACK's thread: bytes read, messages waiting for their frame, and
    the notes it passed on (for the guard)."""

    def __init__(self, rate: int, latency_frames: int):
        self.rate, self.latency = rate, latency_frames
        self.buffer = bytearray()
        self.waiting: list = []  # [frame, bytes], in send order
        self.sounding: set = set()
        self.ended = self.goodbye = False

    def read(self, fd: int, now_frame: int, now_seconds: float) -> None:
        try:
            while chunk := os.read(fd, 65536):
                self.buffer += chunk
            self.ended = True
        except BlockingIOError:
            pass
        size = HEADER.size
        while len(self.buffer) >= size:
            sent, length = HEADER.unpack_from(self.buffer)
            if len(self.buffer) < size + length:
                break
            data = bytes(self.buffer[size:size + length])
            del self.buffer[:size + length]
            if not length:
                self.goodbye = True
                continue
            frame = now_frame + round((sent - now_seconds) * self.rate) + self.latency
            self.waiting.append([frame, data])
            self._track(data)

    def _track(self, data: bytes) -> None:
        kind, key = data[0] & 0xF0, (data[0] & 0x0F, data[1] if len(data) > 1 else None)
        if kind == 0x90 and len(data) > 2 and data[2]:
            self.sounding.add(key)
        elif kind in (0x80, 0x90):
            self.sounding.discard(key)

    def guard(self, frame: int) -> None:
        """The instrument died without its goodbye: end what it left sounding."""
        offs = [bytes([0x80 | c, n, 0]) for c, n in sorted(self.sounding)]
        tail = [bytes([0xB0 | c, cc, 0]) for cc in (123, 120) for c in range(16)]
        self.waiting += [[frame, data] for data in offs + tail]
        self.sounding.clear()

    def write(self, port, cycle_start: int, frames: int) -> None:
        """Messages due in this cycle, at their offsets (late ones at the cycle's first frame, the order kept);
        a full buffer keeps the rest for the next cycle."""
        last, done = 0, 0
        for frame, data in self.waiting:
            offset = max(last, frame - cycle_start)
            if offset >= frames:
                break
            try:
                port.write_midi_event(offset, data)
            except Exception:  # jack.JackError: this cycle's buffer is full
                break
            last, done = offset, done + 1
        del self.waiting[:done]


def _serve(client_name: str, port_name: str, destinations: list[str]) -> None:
    import jack

    from .server_watch import quiet_libjack

    quiet_libjack()  # a dying server is reported once, by live.server_watch
    out, source = sys.stdout.fileno(), sys.stdin.fileno()
    _grow_pipe(source)
    try:
        client = jack.Client(client_name, no_start_server=True)
        port = client.midi_outports.register(port_name)
    except jack.JackError as err:
        _write_all(out, f"error cannot open a JACK client: {err}\n".encode())
        return
    placer = _Placer(client.samplerate, client.blocksize)
    finished, lost = threading.Event(), threading.Event()
    os.set_blocking(source, False)

    @client.set_process_callback
    def process(frames):
        # JACK's real-time thread: read what arrived, write what is due in this cycle; never blocks.
        cycle_start = client.last_frame_time
        port.clear_buffer()
        placer.read(source, cycle_start + client.frames_since_cycle_start, time.perf_counter())
        if placer.ended and not placer.goodbye:
            placer.guard(cycle_start)
            placer.goodbye = True  # guarded once
        placer.write(port, cycle_start, frames)
        if placer.ended and not placer.waiting:
            finished.set()

    client.set_shutdown_callback(lambda status, reason: lost.set())
    client.activate()
    try:
        for destination in destinations:
            client.connect(port, destination)
    except jack.JackError as err:
        _write_all(out, f"error cannot connect {port.name!r} to {destination!r}: {err}\n".encode())
        return
    _write_all(out, f"ok {client.blocksize / client.samplerate!r} {port.name}\n".encode())
    _wait_until_done(finished, lost)
    if not lost.is_set():  # a client whose server died is left alone: closing it could crash
        time.sleep(2 * client.blocksize / client.samplerate)  # the last cycle's events reach the readers
        client.deactivate()
        client.close()


def _wait_until_done(finished: threading.Event, lost: threading.Event) -> None:
    make_realtime(CLOCK_PRIORITY + 1)  # it holds the lock only to wake up: never preempted then
    while not (finished.is_set() or lost.is_set()):
        select.select([], [], [], 0.05)


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2], sys.argv[3:])
