"""The scheduler on a fake clock: exact message lists, duet rollback, knobs, call-and-response, panic."""
import mido
import numpy as np

from engine.configs import get_config
from engine.controls import user_controls
from engine.events import Event
from live.commands import SetControl, Stop
from live.scheduler import EngineError, StateChanged
from tests.live.fakes import Rig, ScriptStepper, note, sounding_after

PANIC_TAIL = [("control_change", c, 123) for c in range(16)] + [("control_change", c, 120) for c in range(16)]


def tail(sent, n=32):
    return [(m.type, m.channel, m.control) for _, m in sent[-n:]]


def test_solo_plays_the_script_at_exact_times_and_panics_at_the_end():
    rig = Rig(duration=0.5)
    sent = rig.run()
    assert rig.notes() == [(0.01, "note_on", 60, 100), (0.11, "note_off", 60, 0), (0.21, "note_on", 61, 100),
                           (0.31, "note_off", 61, 0), (0.41, "note_on", 62, 100), (0.5, "note_off", 62, 64)]
    assert tail(sent) == PANIC_TAIL
    assert all(t == 0.5 for t, _ in sent[-33:])
    assert rig.scheduler.stats.late_ticks == 0 and max(rig.scheduler.stats.lateness) == 0.0


def test_duet_rollback_keeps_what_was_sent_and_replaces_what_was_pending():
    alone = Rig(mode="duet", duration=0.5)
    alone.run()
    rig = Rig(mode="duet", duration=0.5)
    rig.play(0.155, note("note_on", 72))  # step 15; the model had note 61 (step 21) pending
    rig.play(0.30, note("note_off", 72))
    rig.run()
    before = [n for n in alone.notes() if n[0] <= 0.155]
    assert [n for n in rig.notes() if n[0] <= 0.155] == before == [(0.01, "note_on", 60, 100),
                                                                    (0.11, "note_off", 60, 0)]
    # Having heard 72 (velocity bin 20 -> 77), the model moves on to pitch 62 at the player's velocity, from
    # the tick after the one it heard the note in (rollbacks coalesce: no generation in a tick with input).
    assert [n for n in rig.notes() if n[0] > 0.155] == [(0.27, "note_on", 62, 77), (0.32, "note_off", 62, 0),
                                                        (0.42, "note_on", 63, 77), (0.5, "note_off", 63, 64)]
    assert rig.scheduler.stats.rollbacks == 2
    # The player's note is in the model's context at the step it was played (after the shift 11 -> 15).
    vocab = rig.voice.vocab
    fed = [vocab.decode(i) for i, _ in rig.voice.stepper.fed]
    i = fed.index(Event("note_on", 72))
    assert fed[i - 2:i + 1] == [Event("time_shift", 4), Event("velocity", 20), Event("note_on", 72)]


def test_a_60_note_chord_in_one_tick_rolls_the_voice_back_once():
    rig = Rig(mode="duet", duration=0.5)
    for k in range(60):  # each note wakes the scheduler on its own, as from the MIDI thread, all in tick 15
        rig.play(0.155 + k * 0.00008, note("note_on", 30 + k))
    rig.run()
    assert rig.scheduler.stats.rollbacks == 1
    vocab = rig.voice.vocab
    heard = [vocab.decode(i).value for i, _ in rig.voice.stepper.fed if vocab.decode(i).kind == "note_on"]
    start = heard.index(30)
    assert heard[start:start + 60] == list(range(30, 90))  # the whole chord reached the model, in order


def test_thru_echoes_the_player_at_arrival_and_solo_ignores_the_player():
    rig = Rig(mode="solo", duration=0.3, thru=True)
    rig.play(0.155, note("note_on", 72, channel=3))
    rig.play(0.205, note("note_off", 72, channel=3))
    rig.run()
    echoed = [(t, m.type, m.note) for t, m in rig.port.sent if m.type.startswith("note") and m.channel == 3]
    assert echoed == [(0.155, "note_on", 72), (0.205, "note_off", 72)]
    assert rig.scheduler.stats.rollbacks == 0
    assert [n for n in rig.notes() if n[2] != 72][:3] == [(0.01, "note_on", 60, 100), (0.11, "note_off", 60, 0),
                                                          (0.21, "note_on", 61, 100)]


def test_a_knob_change_regenerates_the_lookahead_without_touching_what_was_sent():
    config = get_config("density_conditioned_performance_with_dynamics")
    rig = Rig(mode="solo", duration=0.5, config=config)
    rig.command(0.255, SetControl("notes_per_second", 2.0))
    rig.run()
    assert rig.scheduler.stats.rollbacks == 1
    assert rig.notes()[:3] == [(0.01, "note_on", 60, 100), (0.11, "note_off", 60, 0), (0.21, "note_on", 61, 100)]
    controls = [c for _, c in rig.voice.stepper.fed]
    assert not np.array_equal(controls[0], controls[-1])  # the new density reached the model
    wanted = user_controls(config, 2.0, smooth_density=True)  # smooth: between the bins, not a doubling
    assert np.allclose(controls[-1][0], wanted) and not np.allclose(controls[0][0], wanted)


def test_velocity_knob_shapes_output_velocities():
    rig = Rig(duration=0.3)
    rig.command(0.0, SetControl("velocity_scale", 0.5))
    rig.command(0.0, SetControl("velocity_offset", 10))
    rig.run()
    assert [n[3] for n in rig.notes() if n[1] == "note_on"] == [60, 60]


def test_call_and_response_answers_after_the_silence_for_the_call_length():
    rig = Rig(mode="call", duration=3.5, call_silence_s=0.6)
    rig.play(0.10, note("note_on", 64))
    rig.play(0.60, note("note_off", 64))
    rig.play(0.60, note("note_on", 65))
    rig.play(1.30, note("note_off", 65))  # a 1.2 s call; 0.6 s of silence ends it at 1.90
    rig.run()
    model = [n for n in rig.notes() if n[2] not in (64, 65)]
    assert model[0][:2] == (1.91, "note_on")  # the answer starts on the next step
    times = [t for t, *_ in model]
    assert 2.9 <= max(times) <= 1.91 + 1.20 + 1e-9  # about as long as the call, and not longer
    assert sounding_after(rig.port.sent[:-32]) == set()
    states = [e.value for e in rig.events if isinstance(e, StateChanged) and e.key == "call"]
    assert states == ["responding", "listening"]


def test_playing_during_an_answer_silences_it_at_once():
    rig = Rig(mode="call", duration=2.0, answer_s=3.0, call_silence_s=0.6)
    rig.play(0.10, note("note_on", 64))
    rig.play(0.20, note("note_off", 64))
    rig.play(1.005, note("note_on", 50))  # answer started at 0.81
    rig.run()
    model = [n for n in rig.notes() if n[2] not in (64, 50)]
    assert model and model[0][0] == 0.81
    assert all(t <= 1.01 for t, *_ in model)  # last model message: the release at the next step
    assert sounding_after([(t, m) for t, m in rig.port.sent if t <= 1.01 and m.type != "control_change"]) == set()


def test_mute_listens_but_stays_silent_and_switching_modes_live_works():
    rig = Rig(mode="mute", duration=1.0)
    rig.play(0.10, note("note_on", 67))
    rig.play(0.20, note("note_off", 67))
    rig.command(0.505, SetControl("mode", "solo"))
    rig.command(0.755, SetControl("mode", "mute"))
    rig.run()
    times = [t for t, *_ in rig.notes()]
    assert times and min(times) >= 0.51 and max(times) <= 1.0
    assert sounding_after([(t, m) for t, m in rig.port.sent if t <= 0.76]) == set()
    fed = [rig.voice.vocab.decode(i) for i, _ in rig.voice.stepper.fed]
    assert Event("note_on", 67) in fed and Event("note_off", 67) in fed


def test_an_exception_in_the_model_panics_and_reports():
    rig = Rig(stepper=ScriptStepper(fail_after=6), duration=5.0)
    sent = rig.run()
    assert isinstance(rig.scheduler.error, RuntimeError)
    assert rig.notes()[0] == (0.01, "note_on", 60, 100)
    assert tail(sent) == PANIC_TAIL and sounding_after(sent[:-32]) == set()
    assert any(isinstance(e, EngineError) and "scripted model failure" in e.text for e in rig.events)


def test_stop_command_ends_the_loop_with_a_panic():
    rig = Rig(duration=None)
    rig.command(0.155, Stop())
    sent = rig.run()
    assert sent[-1][0] == 0.155 and tail(sent) == PANIC_TAIL and sounding_after(sent[:-32]) == set()


def test_late_wakeups_are_counted_and_catch_up():
    rig = Rig(duration=0.3)
    rig.clock.at(0.1, lambda: rig.clock.advance(0.035))  # the OS stalls the clock thread for 35 ms
    rig.run()
    stats = rig.scheduler.stats
    assert stats.late_ticks == 1 and max(stats.lateness) > 0.02
    assert rig.notes()[:3] == [(0.01, "note_on", 60, 100), (0.135, "note_off", 60, 0), (0.21, "note_on", 61, 100)]


def test_seeded_fuzz_of_odd_player_messages_leaves_nothing_sounding(tiny):
    from engine.stepper import Stepper

    rng = np.random.default_rng(7)
    rig = Rig(stepper=Stepper(tiny()), mode="duet", duration=4.0, thru=True)
    odd = [mido.Message("sysex", data=[1, 2, 3]), mido.Message("clock"), mido.Message("aftertouch", value=5),
           mido.Message("polytouch", note=60, value=3), mido.Message("pitchwheel", pitch=-300),
           mido.Message("control_change", control=64, value=127)]
    for t in np.sort(rng.uniform(0, 3.9, 300)):
        kind = rng.integers(4)
        if kind == 0:
            msg = odd[rng.integers(len(odd))]
        else:
            msg = mido.Message("note_on" if kind == 1 else "note_off", note=int(rng.integers(40, 90)),
                               velocity=int(rng.integers(0, 128)) if kind == 1 else 0,
                               channel=int(rng.integers(16)))
        rig.play(float(t), msg)
    sent = rig.run()
    assert rig.scheduler.error is None
    assert sounding_after(sent) == set() and not rig.scheduler.output.sounding
    assert rig.scheduler.stats.rollbacks > 10


def test_periodic_refresh_restarts_the_context_against_babble():
    rig = Rig(duration=0.7, stepper=ScriptStepper(hold=5, gap=5), refresh_seconds=0.3)
    rig.run()
    ons = [(t, n) for t, kind, n, _ in rig.notes() if kind == "note_on"]
    assert ons[:3] == [(0.01, 60), (0.11, 61), (0.21, 62)]
    assert (0.31, 60) in ons and (0.61, 60) in ons  # a fresh context every 0.3 s starts over at pitch 60
    assert rig.scheduler.stats.rollbacks == 2


def test_thru_switched_off_still_releases_the_note_it_let_through():
    rig = Rig(mode="mute", duration=0.5, thru=True)
    rig.play(0.10, note("note_on", 50, channel=4))
    rig.command(0.20, SetControl("thru", False))
    rig.play(0.30, note("note_off", 50, channel=4))
    rig.play(0.35, note("note_on", 52, channel=4))  # thru off: not echoed
    sent = rig.run()
    assert [(t, m.type, m.note) for t, m in sent if m.type.startswith("note")] == [(0.1, "note_on", 50),
                                                                                   (0.3, "note_off", 50)]


def test_the_players_note_off_never_cuts_a_model_note_when_thru_is_off():
    rig = Rig(mode="solo", duration=0.3, stepper=ScriptStepper(hold=25, gap=5))
    rig.play(0.05, note("note_on", 60))  # the model is sounding 60 on channel 0 too
    rig.play(0.10, note("note_off", 60))
    rig.run()
    assert rig.notes()[:2] == [(0.01, "note_on", 60, 100), (0.26, "note_off", 60, 0)]


def test_a_refresh_never_drops_what_is_due_at_that_very_step():
    rig = Rig(duration=0.3, stepper=ScriptStepper(hold=10, gap=10), refresh_seconds=0.21)
    rig.run()
    # Note 61 is due at step 21, the refresh step: sent first, then released as the fresh context starts.
    assert rig.notes()[:6] == [(0.01, "note_on", 60, 100), (0.11, "note_off", 60, 0), (0.21, "note_on", 61, 100),
                               (0.22, "note_off", 61, 0), (0.22, "note_on", 60, 100), (0.3, "note_off", 60, 64)]


def test_garbage_is_collected_in_the_slack_and_only_there():
    import gc

    rig = Rig(duration=0.2)
    rig.scheduler.config.collect_garbage = True
    gc.disable()
    try:
        cycles = []
        for _ in range(2000):
            a = []
            a.append(a)
            cycles.append(a)
        del cycles, a
        assert gc.get_count()[0] > 700
        rig.scheduler._collect_garbage(stop_at=rig.clock.now() + 0.001)  # 1 ms to the deadline: not now
        assert gc.get_count()[0] > 700
        rig.scheduler._collect_garbage(stop_at=rig.clock.now() + 0.010)
        assert gc.get_count()[0] < 700
    finally:
        gc.enable()


def test_stats_rings_keep_the_newest_values_oldest_first():
    import numpy as np

    from live.stats import Ring

    ring = Ring(capacity=4)
    for v in range(6):
        ring.append(float(v))
    assert len(ring) == 4 and np.asarray(ring).tolist() == [2.0, 3.0, 4.0, 5.0] and max(ring) == 5.0
