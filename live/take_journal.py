"""Where a take goes while it is being played: checks at start, and a sidecar MIDI file that grows as we play.

The sidecar is a type-1 MIDI file that is only ever appended to: every flush adds one track chunk per part
holding the new events (the first delta of each chunk is its absolute time), then patches the track count in
the header. Any MIDI reader merges the chunks back into the take. A crash or SIGKILL at any moment leaves a
readable file: a half-written chunk lies past the counted tracks and is ignored."""
from __future__ import annotations

import os
import shutil
import struct
import threading

from engine.errors import PerformanceRnnError

from .clock import HELPER_PRIORITY, make_realtime

TICKS_PER_BEAT = 480
TEMPO = 500_000  # 120 bpm: 960 ticks per second, about 1 ms resolution
MIN_FREE_BYTES = 16 * 2 ** 20  # an hour of dense two-handed play is about 2 MB as MIDI
FLUSH_SECONDS = 2.0
MAX_TRACKS = 65_000  # the header's 16-bit count: 9 hours of flushes; the final save has no such limit


class RecordPathError(PerformanceRnnError):
    """A --record path that cannot be written."""


def sidecar_path(path: str) -> str:
    stem, ext = os.path.splitext(path)
    return f"{stem}.partial{ext or '.mid'}"


def check_record_path(path: str, min_free: int = MIN_FREE_BYTES) -> None:
    """Refuse, before anything plays, a take that could not be saved at the end."""
    if os.path.isdir(path):
        raise RecordPathError(f"--record {path} is a directory; give a file name, e.g. "
                              f"{os.path.join(path, 'take.mid')}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise RecordPathError(f"--record {path}: folder {folder} does not exist; create it or record elsewhere")
    probe = os.path.join(folder, f".performance_rnn_probe-{os.getpid()}")
    try:
        with open(probe, "wb") as f:
            f.write(b"\0" * 4096)
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:
        raise RecordPathError(f"--record {path}: cannot write in {folder} ({err.strerror}); record to a "
                              "writable folder") from None
    finally:
        if os.path.lexists(probe):
            os.unlink(probe)
    free = shutil.disk_usage(folder).free
    if free < min_free:
        raise RecordPathError(f"--record {path}: only {free // 1024} KB free in {folder} (need "
                              f"{min_free // 2 ** 20} MB); free some space or record elsewhere")


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _chunk(events: list[tuple[int, bytes]], name: bytes, head: bytes = b"") -> bytes:
    """One MTrk chunk: a track name, then (absolute tick, message bytes) in order, then end of track."""
    body = bytearray(b"\x00\xff\x03" + _varlen(len(name)) + name + head)
    last = 0
    for tick, data in events:
        body += _varlen(max(0, tick - last)) + data
        last = max(last, tick)
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


class TakeJournal:
    """Appends a recorder's new events to the sidecar every `interval` s on its own thread. Write errors
    (a disk filling up) are reported once; the take stays in memory for the final save."""

    def __init__(self, recorder, path: str, report, interval: float = FLUSH_SECONDS):
        self.recorder, self.path, self.report, self.interval = recorder, path, report, interval
        self.tracks = 0
        self.written = 0  # recorder events already in the file
        self.failed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="take-journal", daemon=True)

    def start(self) -> None:
        tempo = b"\x00\xff\x51\x03" + TEMPO.to_bytes(3, "big")
        try:
            with open(self.path, "wb") as f:
                f.write(b"MThd" + struct.pack(">IHHH", 6, 1, 0, TICKS_PER_BEAT))
            self._append([_chunk([], b"Performance RNN Live (partial take)", tempo)])
        except OSError as err:
            self._fail(err)
        self._thread.start()

    def _run(self) -> None:
        make_realtime(HELPER_PRIORITY)  # see live.clock: a preempted thread holding the GIL stalls the clock
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        if self.failed or self.tracks > MAX_TRACKS:
            return
        events, self.written = self.recorder.ticked_since(self.written)
        chunks = [_chunk(part_events, part.encode()) for part, part_events in events if part_events]
        if chunks:
            try:
                self._append(chunks)
            except OSError as err:
                self._fail(err)

    def _append(self, chunks: list[bytes]) -> None:
        # Chunks first, flushed; then the count that makes a reader see them.
        with open(self.path, "r+b") as f:
            f.seek(0, os.SEEK_END)
            f.write(b"".join(chunks))
            f.flush()
            self.tracks += len(chunks)
            f.seek(10)
            f.write(struct.pack(">H", self.tracks))

    def _fail(self, err: OSError) -> None:
        self.failed = True
        self.report(f"warning: cannot write the take's sidecar {self.path} ({err.strerror}); the take is kept "
                    "in memory until the end")

    def stop(self, remove: bool) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if remove and os.path.exists(self.path):
            os.unlink(self.path)
