"""MIDI input from JACK without RtMidi: a small child process owns the JACK port and pipes each cycle's
events to the instrument, where a helper thread turns them into mido Messages for the input callback.

Why: a JACK input's process callback must finish within its period (2.7 ms at 128 frames), because the
sender rewrites the port buffer in the next cycle (with one connection JACK hands the reader the sender's
own buffer). python-rtmidi calls Python once per message from that callback, and each call must win the
instrument's interpreter lock; while another thread holds it for longer than a period (a garbage
collection, a long C call, a preempted thread), RtMidi reads on from a buffer that has changed and, not
checking jack_midi_event_get's result, hands over the previous message again in place of the real one
(bench/bench_chords.py: 34% of 60-note chords wrong, every wrong one a copy of its neighbour). A JACK-Client
callback in the instrument's process needs the same lock every cycle and lost even more. The child's lock
is free: its JACK callback writes the events straight into the pipe, and nothing else runs there.

Pipe protocol (child -> parent): one text line, "ok <full port name>" or "error <text>", then frames of a
4-byte little-endian length and that many bytes (one MIDI event each)."""
from __future__ import annotations

import fcntl
import os
import select
import subprocess
import sys
import threading

import mido

from .clock import CLOCK_PRIORITY, HELPER_PRIORITY, make_realtime

MAX_BACKLOG = 4 << 20  # bytes the child keeps while the parent is behind; beyond it a cycle is dropped (counted)
PIPE_BYTES = 1 << 20  # the pipe's size (Linux F_SETPIPE_SZ)
F_SETPIPE_SZ = 1031
ACTIVE_SENSING = 0xFE  # dropped, as mido's RtMidi input does (ignore_types(active_sense=True))


class JackMidiInput:
    """A JACK MIDI input port `client_name:port_name` fed from the given source ports. `callback(msg)` runs
    on a helper thread, one call per valid message in arrival order; set it to None to stop delivery.
    Invalid events (malformed bytes, which JACK passes through) are dropped, as mido's RtMidi input does."""

    def __init__(self, client_name: str, port_name: str, callback=None, sources=()):
        self.callback = callback
        self.closed = False
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._child = subprocess.Popen([sys.executable, "-m", "live.jack_midi_in", client_name, port_name,
                                        *sources], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        header = self._child.stdout.readline().decode(errors="replace").strip()
        if not header.startswith("ok "):
            self.close()
            raise OSError(header.removeprefix("error ") or "the JACK MIDI input process ended at start")
        self.name = header[3:]
        self._thread = threading.Thread(target=self._deliver, name="jack-midi-in", daemon=True)
        self._thread.start()

    def _deliver(self) -> None:
        make_realtime(HELPER_PRIORITY)  # a preempted lock holder would stall the clock thread
        read = self._child.stdout.read
        while True:
            size = read(4)
            if len(size) < 4:
                return  # the child ended (closed, or its server died: live.server_watch reports that)
            data = read(int.from_bytes(size, "little"))
            if data and data[0] != ACTIVE_SENSING:
                self._hand_over(data)

    def _hand_over(self, data: bytes) -> None:
        try:
            msg = mido.Message.from_bytes(data)
        except (ValueError, IndexError, TypeError):  # malformed bytes (a short pitchwheel: IndexError)
            return
        callback = self.callback
        if callback is None:
            return
        try:
            callback(msg)
        except Exception as err:  # one bad message must not end the input for the rest of the session
            print(f"error: the MIDI input callback failed on {msg}: {err!r}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Ends the child; what it had received is still delivered (unless callback was set to None)."""
        if self.closed:
            return
        self.closed = True
        try:
            self._child.stdin.close()
            self._child.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self._child.kill()
            self._child.wait()
        if hasattr(self, "_thread"):
            self._thread.join(timeout=2)
        self.callback = None


# ---- the child process ---------------------------------------------------------------------------------------

def _serve(client_name: str, port_name: str, sources: list[str]) -> None:
    """The child: one JACK thread that writes each cycle's events straight into the pipe (non-blocking), and
    a main thread that only waits for the parent to go. No other thread ever holds this interpreter's lock
    for long, so the JACK thread always gets it at once (a writer thread here, preempted while holding the
    lock by the instrument's clock thread, once made this callback late too)."""
    import jack

    from .server_watch import quiet_libjack

    quiet_libjack()  # a dying server is reported once, by live.server_watch
    out = sys.stdout.fileno()
    _grow_pipe(out)
    backlog = bytearray()  # bytes not yet in the pipe (no room, or before the header): the stream stays whole
    dropped, streaming = [0], threading.Event()
    lost = threading.Event()
    try:
        client = jack.Client(client_name, no_start_server=True)
        port = client.midi_inports.register(port_name)
    except jack.JackError as err:
        _write_all(out, f"error cannot open a JACK client: {err}\n".encode())
        return

    @client.set_process_callback
    def process(frames):
        # JACK's real-time thread: copy the events into the pipe and return; never blocks.
        frame = b"".join(len(data).to_bytes(4, "little") + bytes(data) for _, data in port.incoming_midi_events())
        if len(backlog) + len(frame) > MAX_BACKLOG:
            dropped[0] += 1
        else:
            backlog.extend(frame)
        if backlog and streaming.is_set():
            try:
                del backlog[:os.write(out, backlog)]
            except BlockingIOError:  # the parent is behind: the rest goes next cycle
                pass
            except OSError:  # the parent is gone
                lost.set()

    client.set_shutdown_callback(lambda status, reason: lost.set())
    client.activate()
    try:
        for source in sources:
            client.connect(source, port)
    except jack.JackError as err:
        _write_all(out, f"error cannot connect {source!r} to {port.name!r}: {err}\n".encode())
        return
    _write_all(out, f"ok {port.name}\n".encode())
    os.set_blocking(out, False)
    streaming.set()
    _wait_for_parent(lost, dropped)
    if not lost.is_set():  # a client whose server died is left alone: closing it could block
        client.deactivate()
        _write_all(out, bytes(backlog))  # what arrived before the close still reaches the parent
        client.close()


def _wait_for_parent(lost: threading.Event, dropped: list) -> None:
    """Until stdin ends (the parent closed us or died) or the server goes."""
    make_realtime(CLOCK_PRIORITY + 1)  # it holds the lock a few µs ten times a second: never preempted then
    reported = 0
    while not lost.is_set():
        ready, _, _ = select.select([sys.stdin], [], [], 0.1)
        if ready and not os.read(sys.stdin.fileno(), 4096):
            return
        if dropped[0] > reported:
            reported = dropped[0]
            print(f"warning: MIDI input fell behind; {reported} JACK cycles of events dropped", file=sys.stderr)


def _grow_pipe(fd: int) -> None:
    try:
        fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:  # not Linux, or above the system's limit: the default 64 KB does
        pass


def _write_all(fd: int, data: bytes) -> None:
    os.set_blocking(fd, True)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2], sys.argv[3:])
