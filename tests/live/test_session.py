"""The session on the real clock (short runs), and the remaining commands on the fake clock."""
import time

import mido
import numpy as np

from engine.bundle import load_bundle
from live.commands import Panic, ResetModel, SetControl, SwapModel
from live.scheduler import StateChanged
from live.session import Session, SessionConfig
from live.settings import Settings
from live.voice import Voice
from tests.live.fakes import CONFIG, Rig, ScriptStepper, sounding_after


class WallPort:
    def __init__(self):
        self.sent, self.closed = [], False

    def send(self, msg):
        self.sent.append((time.perf_counter(), msg))

    def close(self):
        self.closed = True


def test_session_plays_records_and_swaps_models_between_ticks(tiny_bundle_path, tmp_path):
    first = load_bundle(tiny_bundle_path())
    other = tiny_bundle_path(layers=(16,), name="other.safetensors")
    port, events = WallPort(), []
    config = SessionConfig(Settings(mode="solo"), seed=0, duration=1.5, record=str(tmp_path / "take.mid"),
                           realtime=False)
    session = Session(config, on_event=events.append, loaded=first, output_port=port, open_ports=False)
    voice = session.scheduler.performer.voice
    session.start()
    time.sleep(0.3)
    session.swap_model(str(other), "other").join(10)
    assert session.wait(10)
    path = session.stop()
    assert session.scheduler.error is None
    assert session.scheduler.performer.voice is not voice
    assert StateChanged("model", "other") in events
    assert sounding_after(port.sent) == set() and port.closed
    model = next(t for t in mido.MidiFile(path).tracks if t.name == "model")
    assert any(m.type == "note_on" for m in model)
    assert next(m for m in model if not m.is_meta).type == "program_change"  # replays with the instrument heard


def test_panic_command_silences_now_and_play_goes_on():
    rig = Rig(duration=0.6, stepper=ScriptStepper(hold=30, gap=5))
    rig.command(0.205, Panic())
    sent = rig.run()
    at_panic = [(t, m) for t, m in sent if t == 0.205]
    assert [m.type for _, m in at_panic] == ["note_off"] + ["control_change"] * 32
    assert sounding_after([x for x in sent if x[0] <= 0.205]) == set()
    assert any(m.type == "note_on" for t, m in sent if t > 0.205)


def test_lookahead_command_bounds_what_is_pending():
    rig = Rig(duration=1.0, lookahead_ms=500, stepper=ScriptStepper(hold=5, gap=5))
    depth = []
    rig.clock.at(0.3, lambda: depth.append(max(s for s, *_ in rig.scheduler.heap) - rig.scheduler.tick))
    rig.command(0.305, SetControl("lookahead_ms", 20))
    rig.clock.at(0.6, lambda: depth.append(max(s for s, *_ in rig.scheduler.heap) - rig.scheduler.tick))
    rig.run()
    assert depth[0] > 40 and depth[1] <= 2 + 10  # steps ahead: 500 ms, then 20 ms (+ one sampled shift)
    assert rig.scheduler.stats.rollbacks == 1


def test_reset_and_swap_release_the_old_voice_notes_at_once():
    rig = Rig(duration=0.8, stepper=ScriptStepper(hold=30, gap=5))
    rig.command(0.205, ResetModel())
    new = Voice(CONFIG, ScriptStepper(hold=30, gap=5), rng=np.random.default_rng(1))
    rig.command(0.505, SwapModel(new, "new"))
    sent = rig.run()
    for t in (0.21, 0.51):  # the old notes end on the next step, where the fresh context starts at pitch 60
        at = [(m.type, m.note) for when, m in sent if when == t]
        assert at[0][0] == "note_off" and at[-1] == ("note_on", 60)
        assert sounding_after([x for x in sent if x[0] < t] + [(t, m) for when, m in sent
                                                             if when == t and m.type == "note_off"]) == set()
    assert rig.performer.voice is new and rig.scheduler.stats.rollbacks == 2


def test_the_player_can_play_in_the_very_tick_a_new_voice_arrives():
    rig = Rig(mode="duet", duration=0.5, stepper=ScriptStepper(hold=30, gap=5))
    new = Voice(CONFIG, ScriptStepper(hold=5, gap=5), rng=np.random.default_rng(1))
    rig.command(0.205, SwapModel(new, "new"))
    rig.play(0.205, mido.Message("note_on", note=70, velocity=64))
    sent = rig.run()
    assert rig.scheduler.error is None and rig.performer.voice is new
    # the new voice heard the note (its first pitch is 61, not 60) and plays on
    assert [(t, m.note) for t, m in sent if m.type == "note_on" and t > 0.205][0] == (0.27, 61)
