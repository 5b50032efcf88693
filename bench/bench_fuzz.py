"""Fuzzed input through a private JACK server into `performance_rnn_live --no-tui` (duet, the shipped model
unless --bundle_file): storms, chords, sysex to 8 KB, malformed bytes, clock to 5 kHz (tests/live/fuzz.py).
Three views of the model's notes: the tests' JACK listener (live.jack_midi_in, Python), jack_midi_dump (C) and
the instrument's own take (`--record`: what it sent at its port). jackd's xruns are counted per client.

Targets: 0 crashes, 0 notes sounding at the end, no model note longer than 5.05 s at the listener, lateness
p99 <= 1 ms (from the instrument's summary line at exit). Prints a Markdown table row.

Usage: python bench/bench_fuzz.py [--seconds 600] [--seed 1] [--bundle_file PATH]"""
from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.live import fuzz  # noqa: E402
from tests.live.instrument import Instrument  # noqa: E402
from tests.live.jack_server import JackServer  # noqa: E402

XRUN = re.compile(r"client = (.+?) was not finished")  # jackd: that client's cycle ran past its period
SUMMARY = re.compile(r"lateness p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms; late ticks (\d+)/(\d+);"
                     r".*rollbacks (\d+)")


def track_messages(path: Path, name: str) -> list:
    """[(seconds, Message)] of one track of a take (the tempo track kept for the timing)."""
    import mido

    midi = mido.MidiFile(path)
    one = mido.MidiFile(type=1, ticks_per_beat=midi.ticks_per_beat,
                        tracks=[midi.tracks[0]] + [t for t in midi.tracks if t.name == name])
    out, now = [], 0.0
    for msg in one:
        now += msg.time
        out.append((now, msg))
    return out


def dump_listener(env: dict, source: str, log: Path) -> subprocess.Popen:
    """jack_midi_dump (C: its process callback never waits for an interpreter lock) on `source`, printing
    into a file (a pipe read only at the end fills up, and then it skips events)."""
    with log.open("w") as out:
        proc = subprocess.Popen(["jack_midi_dump", "-a", "fuzz-dump"], env=env, stdout=out)
    deadline = time.monotonic() + 10
    while subprocess.run(["jack_connect", source, "fuzz-dump:input"], env=env, capture_output=True).returncode:
        if time.monotonic() > deadline:
            raise RuntimeError("jack_midi_dump's port never appeared")
        time.sleep(0.1)
    return proc


def dumped_messages(text: str, rate: int = 48000) -> list:
    """[(seconds, Message)] from jack_midi_dump -a lines: "  46848: 90 3c 64 note on ..."."""
    import mido

    out = []
    for line in text.splitlines():
        frames, _, rest = line.partition(":")
        data = []
        for token in rest.split():
            if len(token) != 2 or any(c not in "0123456789abcdef" for c in token):
                break
            data.append(int(token, 16))
        try:
            out.append((int(frames) / rate, mido.Message.from_bytes(data)))
        except (ValueError, IndexError):
            continue
    return out


def run(seconds: float, seed: int, bundle: str | None) -> dict:
    events = fuzz.schedule(seed, seconds)
    with JackServer() as server, tempfile.TemporaryDirectory() as tmp:
        os.environ.update(server.env)  # this process is the instrument's sender and listener
        take = Path(tmp) / "take.mid"  # what the instrument sent at its port, beside what the listener heard
        args = ["--seed", seed, "--mode", "duet", "--record", take] + (["--bundle_file", bundle] if bundle else [])
        inst = Instrument(server, "fuzzed", *args, tmp_path=Path(tmp)).start().connect()
        output = next(n for n in inst.backend.get_input_names() if n.endswith(":fuzzed"))
        dump = dump_listener({**os.environ, **server.env}, output, Path(tmp) / "dump.txt")
        try:
            fuzz.play(events, inst.send_bytes)
            time.sleep(1.0)
            alive = inst.proc.poll() is None
            inst.terminate()
            code = inst.wait(60)
        finally:
            inst.close()
            dump.terminate()
            dump.wait(10)
        dumped = fuzz.longest_notes(dumped_messages((Path(tmp) / "dump.txt").read_text()))
        stderr = inst.stderr()
        xruns = collections.Counter(XRUN.findall(server.read_log()))
        sent_lengths = fuzz.longest_notes(track_messages(take, "model"))
    found = SUMMARY.search(stderr)
    lengths = fuzz.longest_notes(inst.received)
    return {"sent": collections.Counter(kind for _, kind, _ in events), "alive": alive, "exit": code,
            "tracebacks": stderr.count("Traceback"), "sounding": len(fuzz.unreleased(inst.received)),
            "notes": len(lengths), "longest": lengths[0] if lengths else 0.0,
            "over": sum(1 for x in lengths if x > 5.05), "longest sent": sent_lengths[0] if sent_lengths else 0.0,
            "longest dumped": dumped[0] if dumped else 0.0, "over dumped": sum(1 for x in dumped if x > 5.05),
            "summary": found.groups() if found else None, "xruns": xruns,
            "stderr": stderr}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bundle_file", default=None)
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    r = run(args.seconds, args.seed, args.bundle_file)
    load_end = os.getloadavg()[0]
    sent = r["sent"]
    crashes = int(not r["alive"]) + int(r["exit"] != 0) + r["tracebacks"]
    if r["summary"]:
        p50, p99, worst, late, ticks, rollbacks = r["summary"]
        lateness = f"{p50} / {p99} / {worst} ms | {late}/{ticks} | {rollbacks}"
    else:
        lateness = "no summary line | | "
    print("| seconds | seed | fuzzed messages (storm, chord, sysex, malformed, clock) | crashes | sounding at end "
          "| model notes | longest / over 5.05 s: listener; jack_midi_dump; the take | lateness p50 / p99 / max | late ticks | rollbacks | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.seconds:.0f} | {args.seed} | {sum(sent.values())} ({sent['storm']}, {sent['chord']}, "
          f"{sent['sysex']}, {sent['malformed']}, {sent['clock']}) | {crashes} | {r['sounding']} | {r['notes']} | "
          f"{r['longest']:.2f} s / {r['over']}; {r['longest dumped']:.2f} s / {r['over dumped']}; "
          f"{r['longest sent']:.2f} s | {lateness} | {load_start:.1f} -> {load_end:.1f} | "
          f"{', '.join(f'{name} {n}' for name, n in r['xruns'].most_common()) or 'none'} |")
    if crashes or not r["summary"]:
        print(r["stderr"][-3000:], file=sys.stderr)


if __name__ == "__main__":
    main()
