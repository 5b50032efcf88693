"""The live voice samples through engine/steering: the steering state is part of every checkpoint, a rollback
restores it exactly, the player's notes count toward density only, and one 10 ms step holds a bounded
number of events."""
from __future__ import annotations

import dataclasses

import mido
import numpy as np

from engine.events import TIME_SHIFT, VELOCITY, Event
from engine.stepper import Stepper
from live.settings import Settings
from live.voice import Voice
from tests.helpers import tiny_model

C_MAJOR = (1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1)
WHOLE_TONE = (1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0)  # the tiny model learned white-key melodies


def steered_voice(seed: int = 3, max_events_per_step: int = 32, **settings) -> Voice:
    model = tiny_model("optional_multiconditioned_performance_with_dynamics")
    settings = Settings(**{"notes_per_second": 6.0, "pitch_class_histogram": C_MAJOR, **settings})
    voice = Voice(model.config, Stepper(model), settings, rng=np.random.default_rng(seed),
                  max_events_per_step=max_events_per_step)
    voice.start(0)
    return voice


def run_until(voice: Voice, step: int) -> None:
    while voice.time < step:
        voice.feed(voice.sample())


def steer_fields(state) -> dict:
    return {f.name: np.array(getattr(state, f.name)) for f in dataclasses.fields(state)}


def test_rollback_mid_steering_restores_logits_and_controller_state_bit_for_bit():
    voice = steered_voice()
    seen = {}  # what the voice looked like when each checkpoint was taken
    take = voice._checkpoint

    def recording_checkpoint(*args):
        seen[voice.time] = (voice.steered_logits().copy(), steer_fields(voice.steer_state))
        take(*args)

    voice._checkpoint = recording_checkpoint
    run_until(voice, 150)
    assert voice.steer_state.integral[0] != 0.0  # the controller has been working
    assert voice.rollback(60)
    logits, fields = seen[voice.time]
    assert voice.time <= 60 and np.array_equal(voice.steered_logits(), logits)
    for name, value in steer_fields(voice.steer_state).items():
        assert np.array_equal(value, fields[name]), name


def test_replay_after_rollback_is_identical():
    """Same seed, same heard history: the steered stream after a rollback is the stream it would have been,
    however many times it is rolled back (a rollback re-draws the shift it lands before, with the same draw)."""
    voice = steered_voice()
    run_until(voice, 300)
    runs = []
    for _ in range(3):
        voice.rollback(100)
        run = []
        while voice.time < 250:
            run.append(voice.sample())
            voice.feed(run[-1])
        runs.append(run)
    assert len(runs[0]) > 20 and runs[0] == runs[1] == runs[2]


def test_steering_obeys_the_scale_the_model_alone_does_not():
    steered, plain = (steered_voice(pitch_class_histogram=WHOLE_TONE) for _ in range(2))
    plain.steering = plain.steering.retarget(None, None)  # conditioning only, as before steering was wired
    shares = []
    for voice in (steered, plain):
        pitches = []
        while voice.time < 3000:
            class_id = voice.sample()
            event = voice.vocab.decode(class_id)
            if event.kind == "note_on":
                pitches.append(event.value)
            voice.feed(class_id)
        shares.append(np.mean([WHOLE_TONE[p % 12] > 0 for p in pitches]))
    assert shares[0] > 0.85 and shares[0] > shares[1] + 0.3, shares  # an overfit tiny model resists most


def test_player_notes_count_toward_density_but_are_never_ours_to_release():
    voice = steered_voice()
    run_until(voice, 20)
    before = steer_fields(voice.steer_state)
    for class_id, decode in voice.player_ids(mido.Message("note_on", note=61, velocity=90)):
        voice.feed(class_id, decode)
    after = steer_fields(voice.steer_state)
    assert after["notes"][0] == before["notes"][0] + 1
    assert after["integral"][0] < before["integral"][0]  # fewer model notes are owed
    assert after["open_count"][0, 61] == before["open_count"][0, 61]  # the release guard ignores it

    quiet = steered_voice(count_player=False)
    run_until(quiet, 20)
    notes = quiet.steer_state.notes[0]
    for class_id, decode in quiet.player_ids(mido.Message("note_on", note=61, velocity=90)):
        quiet.feed(class_id, decode)
    assert quiet.steer_state.notes[0] == notes


def test_one_step_holds_at_most_max_events_per_step():
    voice = steered_voice(max_events_per_step=5)
    velocity = voice.vocab.encode(Event(VELOCITY, 3))
    for _ in range(5):  # a model stuck on VELOCITY events (no steering rule limits those)
        voice.feed(velocity)
    forced = voice.vocab.decode(voice.sample())
    assert forced == Event(TIME_SHIFT, 1)
    voice.feed(voice.shift_id(1))
    assert voice.steer_state.events[0] == 0


def test_density_off_means_the_models_own_pace():
    from engine.controls import user_controls
    from engine.events import NOTE_OFF, NOTE_ON

    model = tiny_model("optional_multiconditioned_performance_with_dynamics")
    plain = Voice(model.config, Stepper(model), Settings(notes_per_second=0.0))
    assert np.array_equal(plain.controls, user_controls(model.config, disable=True))  # unconditioned

    voice = steered_voice(notes_per_second=0.0)  # a scale, no density: the input follows the music
    vocab = voice.vocab
    for i in range(20):  # 4 notes/s for 5 s
        for event in (Event(NOTE_ON, 60 + i % 5), Event(TIME_SHIFT, 10), Event(NOTE_OFF, 60 + i % 5),
                      Event(TIME_SHIFT, 15)):
            voice.feed(vocab.encode(event))
    rate = float(voice.steering.rate(voice.checkpoints[-1].steer_state)[0])  # as of the last time step
    assert 3.2 < rate < 4.8
    expected = user_controls(model.config, rate, C_MAJOR, smooth_density=True).astype(np.float32)
    assert np.array_equal(voice.controls, expected)
    assert not np.array_equal(voice.controls, user_controls(model.config, None, C_MAJOR, smooth_density=True))
    assert voice.steering.notes_per_second is None  # and no density steering
    voice.rollback(100)  # the followed density is part of what a rollback restores
    expected = user_controls(model.config, max(1.0, float(voice.steering.rate(voice.steer_state)[0])), C_MAJOR,
                             smooth_density=True).astype(np.float32)
    assert np.array_equal(voice.controls, expected)
