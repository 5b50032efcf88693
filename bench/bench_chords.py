"""Chord storms through a private JACK server: how many messages reach an input intact.

A JACK-Client sender writes N-note chords (note-ons, then their note-offs half a period later) into a MIDI
port; receivers listen on the same stream: python-rtmidi's JACK input (through mido) and a JACK-Client input.
Prints one table row per (receiver, chord size). Usage: python bench/bench_chords.py [seconds]"""
from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.live.jack_server import JackServer  # noqa: E402


def expected_stream(notes: int, chords: int) -> list[bytes]:
    out = []
    for i in range(chords):
        pitches = [(24 + (i * 7 + k * 3) % 96) for k in range(notes)]
        out += [bytes([0x90, p, 1 + (i + k) % 126]) for k, p in enumerate(pitches)]
        out += [bytes([0x80, p, 0]) for p in pitches]
    return out


def run(notes: int, period: float, seconds: float) -> dict:
    import jack
    import mido

    chords = int(seconds / period)
    stream = expected_stream(notes, chords)
    pending: list[list[bytes]] = []
    for i in range(chords):  # the note-ons of a chord in one cycle, its note-offs half a period later
        block = stream[i * 2 * notes:(i + 1) * 2 * notes]
        pending += [block[:notes], block[notes:]]
    lock = threading.Lock()
    queue: list[list[bytes]] = []
    sender = jack.Client("chord-sender", no_start_server=True)
    out = sender.midi_outports.register("out")

    @sender.set_process_callback
    def process(frames):
        out.clear_buffer()
        with lock:
            batch = queue.pop(0) if queue else []
        for data in batch:
            out.write_midi_event(0, data)

    got_rtmidi, got_jack = [], []
    rt_in = mido.Backend("mido.backends.rtmidi", api="UNIX_JACK").open_input(
        "bench rtmidi", virtual=True, callback=lambda m: got_rtmidi.append(bytes(m.bytes())))
    receiver = jack.Client("chord-receiver", no_start_server=True)
    inp = receiver.midi_inports.register("in")

    @receiver.set_process_callback
    def receive(frames):
        for _, data in inp.incoming_midi_events():
            got_jack.append(bytes(data))

    with sender, receiver:
        sender.connect(out, inp)
        rt_port = next(p for p in sender.get_ports(is_midi=True, is_input=True) if p.name.endswith("bench rtmidi"))
        sender.connect(out, rt_port)
        rt_out = None
        if "--rtmidi-sender" in sys.argv:  # python-rtmidi's JACK output instead, one send per message
            import rtmidi

            rt_out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="rt-sender")
            rt_out.open_virtual_port("out")
            time.sleep(0.2)
            src = next(p for p in sender.get_ports(is_midi=True, is_output=True) if p.name.endswith("rt-sender:out")
                       or p.name.endswith(":out") and "rt-sender" in p.name)
            sender.connect(src, inp)
            sender.connect(src, rt_port)
            sender.disconnect(out, inp)
            sender.disconnect(out, rt_port)
        time.sleep(0.3)
        start = time.perf_counter()
        for i, batch in enumerate(pending):
            time.sleep(max(0.0, start + i * period / 2 - time.perf_counter()))
            if rt_out is not None:
                for data in batch:
                    rt_out.send_message(list(data))
                continue
            with lock:
                queue.append(batch)
        time.sleep(0.5)
        if rt_out is not None:
            rt_out.close_port()
            rt_out.delete()
    rt_in.close()
    return {"sent": len(stream), "rtmidi": intact(stream, got_rtmidi), "jack": intact(stream, got_jack)}


def intact(sent: list[bytes], got: list[bytes]) -> int:
    """Messages received exactly, in order (a longest common subsequence would be fairer, but a garbled
    message breaks the order locally only; count position-wise matches of equal-length streams, else the
    multiset intersection)."""
    from collections import Counter

    return sum((Counter(sent) & Counter(got)).values()) - max(0, len(got) - len(sent))


def busy(stop: threading.Event) -> None:
    """Python work holding the GIL in slices, as the instrument's clock thread does (model steps)."""
    import numpy as np

    a = np.random.default_rng(0).random((256, 256))
    while not stop.is_set():
        for _ in range(50):
            a = np.tanh(a @ a.T / 256)
        time.sleep(0.002)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1][0].isdigit() else 60.0
    stop = threading.Event()
    if "--busy" in sys.argv:
        threading.Thread(target=busy, args=(stop,), daemon=True).start()
    with JackServer() as server:
        os.environ.update(server.env)
        print("| chord | every | sent | rtmidi intact | JACK-Client intact |")
        print("|---|---|---|---|---|")
        for notes, period in ((8, 0.25), (60, 1.0)):
            r = run(notes, period, seconds)
            print(f"| {notes} notes | {period * 1000:.0f} ms | {r['sent']} | {r['rtmidi']} "
                  f"({100 * r['rtmidi'] / r['sent']:.2f}%) | {r['jack']} ({100 * r['jack'] / r['sent']:.2f}%) |",
                  flush=True)


if __name__ == "__main__":
    main()
