"""The instrument through real MIDI routing: a private JACK server, virtual ports, a client that plays and
listens. Processes run side by side to keep the wall time down."""
import random
import signal
import time

import mido
import pytest

from tests.live.fakes import sounding_after
from tests.live.instrument import Instrument, bundle, realtime_client  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.jack, pytest.mark.slow]

PHRASE = [(0.0, 60), (0.25, 64), (0.5, 67), (0.75, 72)]  # (seconds after start, pitch), 0.2 s each


def play_phrase(instruments, offset=0.0):
    start = time.perf_counter() + offset
    events = []
    for t, pitch in PHRASE:
        events += [(t, mido.Message("note_on", note=pitch, velocity=90)),
                   (t + 0.2, mido.Message("note_off", note=pitch, velocity=0))]
    for t, msg in sorted(events, key=lambda e: e[0]):
        time.sleep(max(0.0, start + t - time.perf_counter()))
        for inst in instruments:
            inst.send(msg)
    return start


def model_track(path):
    """(step, type, note, velocity) of the model's recorded notes."""
    midi = mido.MidiFile(path)
    track = next(t for t in midi.tracks if t.name == "model")
    out, ticks = [], 0
    for msg in track:
        ticks += msg.time
        if msg.type in ("note_on", "note_off"):
            seconds = mido.tick2second(ticks, midi.ticks_per_beat, 500_000)
            out.append((round(seconds * 100), msg.type, msg.note, msg.velocity))
    return sorted(out)  # the order of messages sent within one step is not part of the music


def player_track(path):
    midi = mido.MidiFile(path)
    track = next(t for t in midi.tracks if t.name == "player")
    return [m.note for m in track if m.type == "note_on" and m.velocity > 0]


def panicked(inst):
    """Everything released at exit: nothing left sounding, and CC 123 + CC 120 on all 16 channels last."""
    tail = [(m.type, getattr(m, "channel", None), getattr(m, "control", None)) for _, m in inst.received[-32:]]
    return (sounding_after(inst.received) == set()
            and tail == [("control_change", c, cc) for cc in (123, 120) for c in range(16)])


def test_duet_hears_the_player_and_record_writes_both_parts(jack_server, bundle, tmp_path):
    # The tiny model knows one scale, then may fall silent: a context refresh every second keeps it playing.
    # A 0.5 s lookahead keeps a busy machine's stalls from inserting catch-up rests (the streams stay equal).
    common = ["--bundle_file", bundle, "--seed", "3", "--duration", "4", "--refresh_seconds", "1",
              "--lookahead_ms", "500"]
    alone = Instrument(jack_server, "duet-alone", *common, "--mode", "duet", "--record", tmp_path / "a.mid",
                       tmp_path=tmp_path)
    duet = Instrument(jack_server, "duet-played", *common, "--mode", "duet", "--record", tmp_path / "b.mid",
                      tmp_path=tmp_path)
    solo = Instrument(jack_server, "solo-played", *common, "--mode", "solo", "--record", tmp_path / "c.mid",
                      tmp_path=tmp_path)
    group = [alone, duet, solo]
    for inst in group:
        inst.start()
    for inst in group:
        inst.connect()
    play_phrase([duet, solo], offset=0.3)
    codes = [inst.wait(30) for inst in group]
    assert codes == [0, 0, 0], [inst.stderr() for inst in group]
    a, b, c = (model_track(tmp_path / f"{x}.mid") for x in "abc")
    assert a and b, "the model played nothing"
    assert c == a, [(x, y) for x, y in zip(a, c) if x != y][:3]  # same seed; solo ignores the player
    assert b != a  # the duet heard the phrase and played differently
    assert player_track(tmp_path / "b.mid") == [p for _, p in PHRASE]
    for inst in group:
        assert panicked(inst), (inst.name, sounding_after(inst.received), inst.received[-34:])
    assert any(m.type == "note_on" for m in duet.notes())  # what came out over JACK, not only the file


def test_call_and_response_answers_after_the_silence(jack_server, bundle, tmp_path):
    inst = Instrument(jack_server, "caller", "--bundle_file", bundle, "--seed", "1", "--mode", "call",
                      "--duration", "4", "--call_silence", "0.6", "--response_seconds", "1.5",
                      tmp_path=tmp_path).start().connect()
    inst.received.clear()
    start = play_phrase([inst], offset=0.2)
    last_off = start + PHRASE[-1][0] + 0.2
    assert inst.wait(30) == 0, inst.stderr()
    answer = [t for t, m in inst.received if m.type == "note_on" and m.velocity > 0]
    assert answer, f"no answer: {inst.stderr()}"
    assert all(t >= last_off + 0.6 - 0.015 for t in answer)  # silent while the player plays and pauses
    assert answer[0] <= last_off + 0.6 + 1.0  # then answers (the model may open with a short rest)
    assert all(t <= last_off + 0.6 + 1.5 + 0.05 for t in answer)  # for --response_seconds
    assert panicked(inst)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_leaves_nothing_sounding_and_saves_the_recording(jack_server, bundle, tmp_path, signum):
    inst = Instrument(jack_server, f"signal-{signum}", "--bundle_file", bundle, "--seed", "2", "--mode", "solo",
                      "--thru", "--record", tmp_path / "t.mid", tmp_path=tmp_path).start().connect()
    inst.send(mido.Message("note_on", note=50, velocity=80, channel=2))  # a held thru note, never released
    time.sleep(1.5)
    inst.proc.send_signal(signum)
    assert inst.wait(30) == 0, inst.stderr()
    assert any(m.type == "note_on" and m.channel == 0 for m in inst.notes())
    assert ("note_off", 2, 50) in [(m.type, m.channel, m.note) for m in inst.notes()]
    assert panicked(inst)
    assert (tmp_path / "t.mid").exists()  # saved on SIGTERM


def test_fuzzed_input_crashes_nothing_and_leaves_nothing_sounding(jack_server, bundle, tmp_path):
    inst = Instrument(jack_server, "fuzz", "--bundle_file", bundle, "--seed", "4", "--mode", "duet", "--thru",
                      tmp_path=tmp_path).start().connect()
    rng = random.Random(1234)
    odd = [[0xF0, 1, 2, 3, 0xF7], [0xF8], [0xFA], [0xFC], [0xD0, 40], [0xA0, 60, 30], [0x80, 61, 0],
           [0x90, 62, 0], [0x90, 63, 100], [64, 100], [0xB0, 64, 127], [0xE0, 0, 64], [0xF0, 1, 2]]
    end = time.perf_counter() + 2.0
    while time.perf_counter() < end:
        choice = rng.random()
        if choice < 0.3:  # rtmidi sends at most 3 bytes unless it is a sysex
            data = [rng.randrange(256) for _ in range(rng.randrange(1, 4))]
        elif choice < 0.4:
            data = [0xF0] + [rng.randrange(256) for _ in range(rng.randrange(1, 12))]
        elif choice < 0.8:
            data = rng.choice(odd)
        else:
            data = [0x90 | rng.randrange(16), rng.randrange(128), rng.randrange(128)]
        inst.send_bytes(data)
        time.sleep(rng.uniform(0, 0.004))
    time.sleep(0.3)
    assert inst.proc.poll() is None, f"the instrument died: {inst.stderr()}"
    inst.terminate()
    assert inst.wait(30) == 0, inst.stderr()
    assert "Traceback" not in inst.stderr()
    assert panicked(inst)


def test_a_lost_output_port_is_reported_and_reconnected(jack_server, bundle, tmp_path):
    backend = mido.Backend("mido.backends.rtmidi", api="UNIX_JACK")
    heard = []
    synth = backend.open_input("loss-synth", virtual=True, callback=lambda m: heard.append((time.perf_counter(), m)))
    inst = Instrument(jack_server, "lossy", "--bundle_file", bundle, "--seed", "5", "--mode", "solo",
                      "--output", "loss-synth", "--duration", "8", tmp_path=tmp_path).start()
    try:
        deadline = time.monotonic() + 60
        while not any(m.type == "note_on" for _, m in heard) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert heard, f"nothing reached the named output: {inst.stderr()}"
        synth.close()  # the synth goes away...
        time.sleep(1.6)
        assert "output port 'loss-synth' was lost" in inst.stderr()
        heard.clear()
        synth = backend.open_input("loss-synth", virtual=True, callback=lambda m: heard.append((0, m)))
        deadline = time.monotonic() + 5
        while "reconnected" not in inst.stderr() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "reconnected output" in inst.stderr()
        time.sleep(1.5)
        assert any(m.type == "note_on" for _, m in heard)  # ...and plays again when it is back
        assert inst.proc.wait(30) == 0, inst.stderr()
    finally:
        synth.close()
        inst.proc.kill() if inst.proc.poll() is None else None
