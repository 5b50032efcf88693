"""The instrument under faults, through real JACK: bad paths, signals during shutdown, SIGKILL, panic."""
import os
import signal
import subprocess
import time
from collections import Counter

import mido
import pytest

from live.jack_midi_in import JackMidiInput
from live.take_journal import sidecar_path
from tests.helpers import tiny_bundle
from tests.live import fuzz
from tests.live.instrument import ROOT, Instrument, live_command
from tests.live.jack_server import JackServer

pytestmark = [pytest.mark.jack, pytest.mark.slow]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return tiny_bundle(tmp_path_factory.mktemp("bundle"))


def run_live(jack_server, *args, timeout=120):
    env = {**os.environ, **jack_server.env, "PYTHONPATH": str(ROOT)}
    return subprocess.run(live_command() + ["--no-tui", *map(str, args)], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def player_notes(path):
    """Pitches played, in order, from the player's track (or, in a sidecar, its player chunks)."""
    midi = mido.MidiFile(path)
    player = mido.MidiFile(type=1, ticks_per_beat=midi.ticks_per_beat,
                           tracks=[midi.tracks[0]] + [t for t in midi.tracks if t.name == "player"])
    return [m.note for m in player if m.type == "note_on" and m.velocity > 0]


@pytest.mark.parametrize("record", ["/proc/x.mid", "{tmp}"])
def test_a_bad_record_path_stops_the_instrument_before_it_plays(jack_server, bundle, tmp_path, record):
    done = run_live(jack_server, "--bundle_file", bundle, "--duration", 30, "--port_name", "badpath",
                    "--record", record.format(tmp=tmp_path))
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: --record"), done.stderr
    assert "Ctrl-C stops" not in done.stderr


def play_notes(inst, pitches, gap=0.1):
    for pitch in pitches:
        inst.send(mido.Message("note_on", note=pitch, velocity=80))
        time.sleep(gap / 2)
        inst.send(mido.Message("note_off", note=pitch))
        time.sleep(gap / 2)


def test_a_second_ctrl_c_during_shutdown_still_leaves_the_take(jack_server, bundle, tmp_path):
    take = tmp_path / "t.mid"
    inst = Instrument(jack_server, "twice", "--bundle_file", bundle, "--seed", "3", "--mode", "duet",
                      "--record", take, tmp_path=tmp_path).start().connect()
    play_notes(inst, range(60, 70))
    inst.proc.send_signal(signal.SIGINT)
    time.sleep(0.01)
    inst.proc.send_signal(signal.SIGINT)
    assert inst.wait(30) == 0, inst.stderr()
    assert "Traceback" not in inst.stderr()
    assert player_notes(take) == list(range(60, 70))
    assert not os.path.exists(sidecar_path(str(take)))


@pytest.mark.jack_faults
def test_sigkill_leaves_all_but_the_last_seconds_in_the_sidecar(jack_server, bundle, tmp_path):
    take = tmp_path / "t.mid"
    inst = Instrument(jack_server, "killed", "--bundle_file", bundle, "--seed", "3", "--mode", "duet",
                      "--record", take, tmp_path=tmp_path).start().connect()
    play_notes(inst, range(40, 80))  # 4 s of playing
    inst.proc.kill()
    inst.wait(30)
    assert not take.exists()
    kept = player_notes(sidecar_path(str(take)))
    assert kept == list(range(40, 40 + len(kept)))  # in order, nothing garbled
    assert len(kept) >= 40 - 25  # the journal flushes every 2 s: at most the last 2.5 s (25 notes) are lost


def test_panic_sends_every_note_off_sustain_off_and_cc_123_120(jack_server, bundle, tmp_path):
    got = []  # RtMidi's input would garble this burst under load (see live/jack_midi_in.py)
    listener = JackMidiInput("panic-listener", "in", got.append)
    try:
        done = run_live(jack_server, "--panic", "--output", "panic-listener")
        assert done.returncode == 0, done.stderr
        time.sleep(0.1)
    finally:
        listener.close()
    offs = {(m.channel, m.note) for m in got if m.type == "note_off"}
    assert offs == {(c, n) for c in range(16) for n in range(128)}
    controls = [(m.control, m.channel) for m in got if m.type == "control_change"]
    assert controls == [(cc, c) for cc in (64, 123, 120) for c in range(16)]
    assert len(got) == 2048 + 48
    assert done.stderr.count("\n") == 1 and "2096 messages" in done.stderr


def test_panic_without_ports_is_a_one_line_error(jack_server):
    done = run_live(jack_server, "--panic", "--output", "no-such-synth")
    assert done.returncode == 2 and done.stderr.startswith("error: unknown output port 'no-such-synth'"), done.stderr


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.jack_faults
def test_a_dead_jack_server_stops_the_headless_instrument_with_one_line(bundle, tmp_path):
    with JackServer() as private:
        inst = Instrument(private, "orphan", "--bundle_file", bundle, "--mode", "solo", "--duration", 60,
                          tmp_path=tmp_path).start()
        assert wait_for(lambda: "Ctrl-C stops" in inst.stderr() or inst.proc.poll() is not None), inst.stderr()
        time.sleep(3)  # session.start() (a full garbage collection, the watch client) is slow on a loaded machine
        private.proc.terminate()  # SIGKILL would leave the server in JACK's registry (8 slots) for good
        private.proc.wait()
        assert wait_for(lambda: inst.proc.poll() is not None, 30), f"still running: {inst.stderr()}"
        code = inst.proc.returncode
    # A server that dies with clients attached stays in JACK's registry of 8 servers: the same name, started
    # and stopped cleanly, frees the slot.
    JackServer(name=private.name).start().stop()
    lines = [line for line in inst.stderr().splitlines() if "JACK server" in line]
    assert code == 1, inst.stderr()
    assert len(lines) == 1 and lines[0].startswith(f"error: the JACK server '{private.name}' is gone"), inst.stderr()
    assert "Traceback" not in inst.stderr()


@pytest.mark.jack_faults
def test_with_reconnect_the_instrument_reopens_its_ports_when_the_server_returns(bundle, tmp_path):
    # All through subprocesses: a client of this test process on a server that dies leaves libjack's
    # process-wide state broken for the later tests.
    private = JackServer().start()
    inst = Instrument(private, "phoenix", "--bundle_file", bundle, "--mode", "solo", "--seed", "1", "--reconnect",
                      tmp_path=tmp_path).start()
    try:
        # Up and playing, not still opening ports (a server dying then is a one-line start-up error).
        assert wait_for(lambda: "Ctrl-C stops" in inst.stderr()), inst.stderr()
        private.proc.terminate()
        private.proc.wait()
        assert wait_for(lambda: "is gone" in inst.stderr(), 10), inst.stderr()
        private = JackServer(name=private.name).start()
        assert wait_for(lambda: "reconnected to the JACK server" in inst.stderr(), 30), inst.stderr()
        assert wait_for(lambda: ":phoenix in" in jack_ports(private), 10), jack_ports(private)
        assert ":phoenix\n" in jack_ports(private) + "\n"
        inst.terminate()
        assert inst.wait(30) == 0, inst.stderr()
    finally:
        inst.close()
        private.stop()
    assert "Traceback" not in inst.stderr()


def jack_ports(server) -> str:
    done = subprocess.run(["jack_lsp"], env={**os.environ, **server.env}, capture_output=True, text=True, timeout=10)
    return done.stdout


# The 60 s runs are in bench/bench_chords.py --instrument (and the README); RtMidi's input garbled both.
@pytest.mark.parametrize("notes, period, seconds", [(8, 0.25, 5), (60, 1.0, 4)], ids=["8-note", "60-note"])
def test_chord_storms_reach_the_recorded_player_track_intact(jack_server, bundle, tmp_path, notes, period, seconds):
    take = tmp_path / "t.mid"
    inst = Instrument(jack_server, f"chords{notes}", "--bundle_file", bundle, "--seed", "1", "--mode", "duet",
                      "--record", take, tmp_path=tmp_path).start().connect()
    sent, start = [], time.perf_counter()
    for i in range(int(seconds / period)):
        time.sleep(max(0.0, start + i * period - time.perf_counter()))
        pitches = [24 + (i * 7 + k) % 96 for k in range(notes)]  # distinct within a chord
        for k, pitch in enumerate(pitches):
            sent.append(mido.Message("note_on", note=pitch, velocity=1 + (i + k) % 126))
            inst.send(sent[-1])
        time.sleep(period / 2)
        for pitch in pitches:
            sent.append(mido.Message("note_off", note=pitch))
            inst.send(sent[-1])
    time.sleep(0.3)
    inst.terminate()
    assert inst.wait(30) == 0, inst.stderr()
    player = next(t for t in mido.MidiFile(take).tracks if t.name == "player")
    recorded = [m.bytes() for m in player if m.type in ("note_on", "note_off")]
    missing = Counter(map(tuple, (m.bytes() for m in sent))) - Counter(map(tuple, recorded))
    invented = Counter(map(tuple, recorded)) - Counter(map(tuple, (m.bytes() for m in sent)))
    assert (sum(missing.values()), sum(invented.values())) == (0, 0), (missing, invented, inst.stderr())


def test_fuzzed_input_of_every_kind_crashes_nothing_and_leaves_nothing_sounding(jack_server, bundle, tmp_path):
    """Four seconds of bench/bench_fuzz.py's input (storms, chords, sysex to 8 KB, malformed bytes, clock to
    5 kHz), with thru: the player's unreleased notes must end at exit too."""
    events = fuzz.schedule(1, 4.0)
    assert {kind for _, kind, _ in events} >= set(fuzz.KINDS) - {"rest"}
    inst = Instrument(jack_server, "fuzzed", "--bundle_file", bundle, "--seed", "5", "--mode", "duet", "--thru",
                      tmp_path=tmp_path).start().connect()
    fuzz.play(events, inst.send_bytes)
    time.sleep(0.3)
    assert inst.proc.poll() is None, f"the instrument died: {inst.stderr()}"
    inst.terminate()
    assert inst.wait(30) == 0, inst.stderr()
    assert "Traceback" not in inst.stderr()
    assert any(m.channel != 0 for m in inst.notes())  # the player's notes came through thru
    assert fuzz.unreleased(inst.received) == set()
