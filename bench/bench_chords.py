"""Chord storms through a private JACK server: how many messages reach an input intact, and why not.

Part 1 (receivers): a sender process (python-rtmidi's JACK output) sends N-note chords, the note-ons and half
a period later the note-offs, to two receivers, each a process of its own as the instrument is: python-rtmidi's
JACK input through mido (the instrument's input before issue 20) and live.jack_midi_in.JackMidiInput (its
input now). `--load gil` adds to each receiver what can hold the interpreter lock in the instrument: a
SCHED_FIFO thread running Python in slices plus a 3 ms C call every tick, with the instrument's 1 ms switch
interval. Per receiver: messages intact, missing, invented (received more often than sent), invented copies
of the message just before, jackd's "client was not finished" xruns for that client, and (streams intact)
the latency from a batch's send to each message's delivery.
Part 2 (`--instrument`): the same chords into `performance_rnn_live --no-tui --record` (duet, the shipped
model unless --bundle_file), counted in the recorded player track.

Usage: python bench/bench_chords.py [--seconds 60] [--load none|gil] [--instrument] [--bundle_file PATH]"""
from __future__ import annotations

import argparse
import os
import sys
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.live.jack_server import JackServer  # noqa: E402

CASES = ((8, 0.25), (60, 1.0))  # (notes per chord, seconds between chords)


def chords(notes: int, period: float, seconds: float) -> list[list[bytes]]:
    """Batches to send every period/2: a chord's note-ons, then its note-offs. Pitches are distinct within
    a chord and velocities vary, so a duplicated neighbour is told apart from the message it replaced."""
    out = []
    for i in range(int(seconds / period)):
        pitches = [24 + (i * 7 + k) % 96 for k in range(notes)]
        out.append([bytes([0x90, p, 1 + (i + k) % 126]) for k, p in enumerate(pitches)])
        out.append([bytes([0x80, p, 0]) for p in pitches])
    return out


def latency(batches, sent_at, got) -> str:
    """p50 / p99 (ms) from a batch's send time to each of its messages' delivery (streams intact: in order)."""
    import numpy as np

    starts = [t for t, batch in zip(sent_at, batches) for _ in batch]
    ms = np.array([(at - start) * 1e3 for start, (at, _) in zip(starts, got)])
    return f"{np.percentile(ms, 50):.2f} / {np.percentile(ms, 99):.2f}"


def count(sent: list[bytes], got: list[bytes]) -> dict:
    missing = Counter(sent) - Counter(got)
    invented = Counter(got) - Counter(sent)
    neighbours = sum(1 for a, b in zip(got, got[1:]) if a == b and invented[b])
    return {"sent": len(sent), "intact": len(sent) - sum(missing.values()), "missing": sum(missing.values()),
            "invented": sum(invented.values()), "neighbour copies": neighbours}


def hold_gil(stop: threading.Event) -> None:
    """What can hold the interpreter lock in the instrument: every 10 ms tick, Python work in short slices
    (the clock thread, at SCHED_FIFO 5), then one C call that keeps the lock ~3 ms, longer than a JACK
    period (a full garbage collection, a long torch call, a thread preempted while holding the lock)."""
    import random

    from live.clock import CLOCK_PRIORITY, make_realtime

    make_realtime(CLOCK_PRIORITY)
    numbers = [random.random() for _ in range(30_000)]  # sorted() of these: ~3 ms without releasing the lock
    while not stop.is_set():
        end = time.perf_counter() + 0.002
        while time.perf_counter() < end:
            sum(i * i for i in range(200))
        sorted(numbers)
        time.sleep(0.005)


def send(notes: int, period: float, seconds: float, targets: list[str]) -> None:
    """The sender process: python-rtmidi's JACK output, whose process callback is C (a ring buffer of what
    send_message wrote), so no interpreter lock delays it. A Python (JACK-Client) sender was itself late
    under load and lost whole batches."""
    import jack
    import rtmidi

    from live.clock import HELPER_PRIORITY, make_realtime

    make_realtime(HELPER_PRIORITY)
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="chord-sender")
    out.open_virtual_port("out")
    with jack.Client("chord-patcher", no_start_server=True) as patcher:
        for target in targets:
            patcher.connect("chord-sender:out", target)
    time.sleep(0.3)  # a new connection takes effect a cycle or two later
    start = time.perf_counter()
    for i, batch in enumerate(chords(notes, period, seconds)):
        time.sleep(max(0.0, start + i * period / 2 - time.perf_counter()))
        print(time.perf_counter(), flush=True)  # the batch's send time (perf_counter is system-wide)
        for data in batch:
            out.send_message(data)
    time.sleep(0.3)
    out.close_port()
    out.delete()


def receive(kind: str, load: str) -> None:
    """A receiver process (as the instrument is one): prints its port, then on stdin's end what it got."""
    import mido

    from live.jack_midi_in import JackMidiInput

    got: list[tuple[float, bytes]] = []
    stop = threading.Event()
    if load == "gil":
        sys.setswitchinterval(0.001)  # as live.session does
        threading.Thread(target=hold_gil, args=(stop,), daemon=True).start()
    def keep(msg):
        got.append((time.perf_counter(), bytes(msg.bytes())))

    if kind == "rtmidi":
        port = mido.Backend("mido.backends.rtmidi", api="UNIX_JACK").open_input(
            "in", client_name=f"bench-{kind}", virtual=True, callback=keep)
        name = f"bench-{kind}:in"
    else:
        port = JackMidiInput(f"bench-{kind}", "in", keep)
        name = port.name
    print(name, flush=True)
    sys.stdin.read()
    stop.set()
    port.close()
    for at, data in got:
        print(at, data.hex(), flush=True)


def receivers(server: JackServer, notes: int, period: float, seconds: float, load: str) -> dict:
    """The sender and each receiver in a process of its own."""
    me = [sys.executable, __file__]
    env = {**os.environ, **server.env}
    procs = {kind: subprocess.Popen(me + ["--receive", kind, "--load", load], env=env, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True) for kind in ("rtmidi", "reader")}
    ports = [proc.stdout.readline().strip() for proc in procs.values()]
    log_before = len(server.read_log())
    sender = subprocess.run(me + ["--seconds", str(seconds), "--send", str(notes), str(period), *ports], env=env,
                            check=True, capture_output=True, text=True)
    sent_at = [float(line) for line in sender.stdout.split()]
    time.sleep(0.3)
    log = server.read_log()[log_before:]
    batches = chords(notes, period, seconds)
    sent = [data for batch in batches for data in batch]
    rows = {}
    for kind, proc in procs.items():
        lines = proc.communicate("")[0].splitlines()
        got = [(float(at), bytes.fromhex(data)) for at, data in map(str.split, lines)]
        rows[kind] = count(sent, [data for _, data in got])
        rows[kind]["latency"] = latency(batches, sent_at, got) if rows[kind]["intact"] == len(sent) else ""
        rows[kind]["xruns"] = sum(1 for line in log.splitlines()
                                  if f"bench-{kind}" in line and "not finished" in line)
    return rows


def through_instrument(server: JackServer, notes: int, period: float, seconds: float, bundle: str | None) -> dict:
    import mido

    from tests.live.instrument import Instrument

    with tempfile.TemporaryDirectory() as tmp:
        take = Path(tmp) / "take.mid"
        args = ["--seed", "1", "--mode", "duet", "--record", take] + (["--bundle_file", bundle] if bundle else [])
        inst = Instrument(server, f"chords{notes}", *args, tmp_path=Path(tmp)).start().connect()
        sent, start = [], time.perf_counter()
        try:
            for i, batch in enumerate(chords(notes, period, seconds)):
                time.sleep(max(0.0, start + i * period / 2 - time.perf_counter()))
                for data in batch:
                    inst.send(mido.Message.from_bytes(data))
                sent += batch
            time.sleep(0.3)
            inst.terminate()
            code = inst.wait(60)
        finally:
            inst.close()
        player = next(t for t in mido.MidiFile(take).tracks if t.name == "player")
        recorded = [bytes(m.bytes()) for m in player if m.type in ("note_on", "note_off")]
        summary = next((line for line in inst.stderr().splitlines() if "lateness" in line), "")
    return {**count(sent, recorded), "exit": code, "summary": summary.strip()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--load", choices=("none", "gil"), default="none")
    parser.add_argument("--instrument", action="store_true", help="part 2: through performance_rnn_live")
    parser.add_argument("--bundle_file", default=None)
    parser.add_argument("--send", nargs="+", help=argparse.SUPPRESS)  # child: NOTES PERIOD TARGET...
    parser.add_argument("--receive", choices=("rtmidi", "reader"), help=argparse.SUPPRESS)  # child
    args = parser.parse_args()
    if args.send:
        return send(int(args.send[0]), float(args.send[1]), args.seconds, args.send[2:])
    if args.receive:
        return receive(args.receive, args.load)
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    with JackServer() as server:
        os.environ.update(server.env)  # the instrument's test client talks to this server
        if args.instrument:
            print("| chords | every | sent | intact | missing | invented | exit | instrument summary |")
            print("|---|---|---|---|---|---|---|---|")
            for notes, period in CASES:
                r = through_instrument(server, notes, period, args.seconds, args.bundle_file)
                print(f"| {notes} notes | {period * 1000:.0f} ms | {r['sent']} | {r['intact']} "
                      f"({100 * r['intact'] / r['sent']:.2f}%) | {r['missing']} | {r['invented']} | {r['exit']} "
                      f"| {r['summary']} |", flush=True)
        else:
            print("| chords | every | load | receiver | sent | intact | missing | invented | neighbour copies "
                  "| xruns | latency p50 / p99 ms |")
            print("|---|---|---|---|---|---|---|---|---|---|---|")
            for notes, period in CASES:
                for kind, r in receivers(server, notes, period, args.seconds, args.load).items():
                    print(f"| {notes} notes | {period * 1000:.0f} ms | {args.load} | {kind} | {r['sent']} | "
                          f"{r['intact']} ({100 * r['intact'] / r['sent']:.2f}%) | {r['missing']} | "
                          f"{r['invented']} | {r['neighbour copies']} | {r['xruns']} | {r['latency']} |",
                          flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
