"""Sampling-time steering: pitch-class bias, density controller and release guard, alone and on a tiny model."""
import dataclasses

import numpy as np
import pytest

from engine.configs import get_config
from engine.events import Event, Vocabulary
from engine.generation import ControlSchedule, GenerationOptions, Generator
from engine.primers import empty_primer
from engine.steering import OFF, SteeredStepper, Steering, SteeringConfig, steering_for
from engine.stepper import Stepper

VOCAB = Vocabulary(32)
BLACK_KEYS = [0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0]
C_TRIAD = [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0]  # the tiny model plays a C major scale: this leaves out 4 of 7
ids = VOCAB.encode


def _generate(model, steering: Steering | None, seconds=10.0, outputs=6, seed=0):
    config = model.config
    steps = int(seconds * 100)
    stepper = Stepper(model)
    if steering is not None:
        stepper = SteeredStepper(stepper, steering)
    generator = Generator(stepper, GenerationOptions(num_steps=steps, seed=seed), ControlSchedule(config, steps))
    return [g.performance for g in generator.generate(empty_primer(config.num_velocity_bins, steps), outputs)]


def test_without_a_request_only_note_offs_of_silent_pitches_move():
    steering = Steering(SteeringConfig(), VOCAB)
    state = steering.new_state(3)
    logits = np.random.default_rng(0).normal(size=(3, VOCAB.num_classes))
    out = steering.apply(logits, state)
    off = slice(128, 256)
    assert np.array_equal(np.delete(out, np.r_[off], axis=1), np.delete(logits, np.r_[off], axis=1))
    assert np.allclose(out[:, off], logits[:, off] - 20.0)  # nothing sounds: every NOTE_OFF is a no-op
    assert np.array_equal(Steering(OFF, VOCAB).apply(logits, state), logits)


def test_pitch_bias_hits_only_note_ons_outside_the_histogram():
    steering = Steering(SteeringConfig(pitch_strength=2.0), VOCAB, pitch_class_histogram=BLACK_KEYS)
    out = steering.apply(np.zeros((1, VOCAB.num_classes)), steering.new_state(1))[0]
    assert out[ids(Event("note_on", 61))] == 0.0
    assert out[ids(Event("note_on", 60))] == pytest.approx(2.0 * np.log(1e-3 / (0.2 + 1e-3)))
    assert out[ids(Event("note_off", 60))] == out[ids(Event("note_off", 61))] and out[ids(Event("time_shift", 5))] == 0


def test_strong_pitch_bias_samples_no_out_of_scale_note(tiny):
    model = tiny("performance_with_dynamics")
    steering = Steering(SteeringConfig(pitch_strength=50.0), model.config.vocab, pitch_class_histogram=C_TRIAD)
    notes = np.concatenate([p.to_notes().pitch for p in _generate(model, steering)])
    assert len(notes) > 20
    assert all(C_TRIAD[p % 12] for p in notes.tolist())
    plain = np.concatenate([p.to_notes().pitch for p in _generate(model, None)])
    assert np.mean([not C_TRIAD[p % 12] for p in plain.tolist()]) > 0.3  # unsteered it plays the whole scale


def _median_density(performances, seconds=10.0):
    return float(np.median([len(p.to_notes()) / seconds for p in performances]))


def test_density_controller_moves_density_toward_the_request(tiny):
    model = tiny("performance_with_dynamics")
    plain = _median_density(_generate(model, None))
    low = _median_density(_generate(model, Steering(SteeringConfig(), model.config.vocab, notes_per_second=1.0)))
    high = _median_density(_generate(model, Steering(SteeringConfig(), model.config.vocab, notes_per_second=8.0)))
    assert abs(np.log(high / 8.0)) < abs(np.log(plain / 8.0)) - 0.5  # much closer to 8 than unsteered
    assert low < plain < high


def test_density_bias_sign_follows_the_error():
    steering = Steering(SteeringConfig(), VOCAB, notes_per_second=4.0)
    state = steering.new_state(2)
    assert np.allclose(steering.density_bias(state), 0.0)  # the estimate starts at the request
    shift = ids(Event("time_shift", 100))
    on = ids(Event("note_on", 60))
    state = steering.observe([shift, on], state)  # row 0: a silent second; row 1: a note, no time
    for _ in range(10):
        state = steering.observe([shift, on], state)
    bias = steering.density_bias(state)
    assert bias[0] > 0 > bias[1]
    out = steering.apply(np.zeros((2, VOCAB.num_classes)), state)
    assert out[0, shift] < out[0, ids(Event("time_shift", 1))] < 0  # long shifts pushed down most
    assert out[1, shift] > 0


def test_release_guard_forces_the_note_off_at_the_cap():
    steering = Steering(SteeringConfig(), VOCAB)
    state = steering.new_state(1)
    state = steering.observe([ids(Event("note_on", 60))], state)
    for _ in range(4):
        state = steering.observe([ids(Event("time_shift", 100))], state)
    out = steering.apply(np.zeros((1, VOCAB.num_classes)), state)[0]
    assert np.isfinite(out[ids(Event("time_shift", 100))])  # 4 s: a full second still fits
    assert out[ids(Event("note_off", 60))] == pytest.approx(4.0 * 0.5)  # 0.5 s past release_after_seconds
    state = steering.observe([ids(Event("time_shift", 60))], state)  # 4.6 s: 40 steps left
    out = steering.apply(np.zeros((1, VOCAB.num_classes)), state)[0]
    assert np.isfinite(out[ids(Event("time_shift", 40))]) and not np.isfinite(out[ids(Event("time_shift", 41))])
    assert out[ids(Event("note_off", 60))] > 0 > out[ids(Event("note_off", 61))]
    state = steering.observe([ids(Event("time_shift", 40))], state)  # exactly 5 s: only its NOTE_OFF is left
    out = steering.apply(np.zeros((1, VOCAB.num_classes)), state)[0]
    assert np.flatnonzero(np.isfinite(out)).tolist() == [ids(Event("note_off", 60))]
    state = steering.observe([ids(Event("note_off", 60))], state)
    assert np.isfinite(steering.apply(np.zeros((1, VOCAB.num_classes)), state)).all()


def test_guarded_generation_never_stalls_the_clock(tiny):
    """Pushed for 16 notes/s, the tiny model once filled the time with NOTE_OFFs of silent pitches until
    the generator's event cap stopped it (and the padding stretched its notes past 5 s)."""
    model = tiny("performance_with_dynamics")
    steering = Steering(SteeringConfig(), model.config.vocab, notes_per_second=16.0)
    for performance in _generate(model, steering, seconds=10.0, outputs=4):
        assert len(performance) < 1000  # the cap is ~1900 events for 10 s
        raw = performance.to_notes(max_note_duration=None)
        assert (raw.end - raw.start).max() <= 5.0 + 1e-9


def test_guarded_generation_cuts_no_note(tiny):
    model = tiny("performance_with_dynamics", layers=(16,), seed=3)
    guard = dataclasses.replace(OFF, release_strength=4.0, max_note_seconds=5.0, max_chord_notes=12,
                                silent_off_penalty=20.0)
    for performance in _generate(model, Steering(guard, model.config.vocab), seconds=20.0, outputs=4):
        raw = performance.to_notes(max_note_duration=None)
        assert (raw.end - raw.start).max() <= 5.0 + 1e-9


def test_chord_limit_and_restrike_penalty():
    steering = Steering(SteeringConfig(max_chord_notes=2, restrike_penalty=3.0), VOCAB)
    state = steering.new_state(1)
    state = steering.observe([ids(Event("note_on", 60))], state)
    out = steering.apply(np.zeros((1, VOCAB.num_classes)), state)[0]
    assert out[ids(Event("note_on", 60))] == -3.0 and out[ids(Event("note_on", 61))] == 0.0
    state = steering.observe([ids(Event("note_on", 64))], state)
    out = steering.apply(np.zeros((1, VOCAB.num_classes)), state)[0]
    assert not np.isfinite(out[ids(Event("note_on", 67))]) and np.isfinite(out[ids(Event("time_shift", 1))])
    state = steering.observe([ids(Event("time_shift", 1))], state)
    assert np.isfinite(steering.apply(np.zeros((1, VOCAB.num_classes)), state)[0, ids(Event("note_on", 67))])


def test_state_copy_and_select_are_independent():
    steering = Steering(SteeringConfig(), VOCAB, notes_per_second=2.0)
    state = steering.new_state(2)
    saved = state.copy()
    state = steering.observe([ids(Event("note_on", 60)), ids(Event("time_shift", 50))], state)
    assert saved.open_count.sum() == 0 and state.open_count.sum() == 1
    one = state.select([1])
    assert len(one) == 1 and one.step[0] == 50


def test_steered_stepper_rejects_beam_search(tiny):
    model = tiny("performance_with_dynamics")
    stepper = SteeredStepper(Stepper(model), Steering(SteeringConfig(), model.config.vocab))
    _, state = stepper.prime(np.array([355]), None)
    _, state = stepper.step(np.array([355, 355, 355]), None, state.select([0, 0, 0]))
    with pytest.raises(ValueError, match="beam"):
        stepper.step(np.array([355, 355]), None, state.select([0, 1]))
    stepper.prime(np.array([355]), None)  # a new stream (no model state given) starts a new steering state
    assert len(stepper.state) == 1


def test_bad_config_and_request_are_named():
    with pytest.raises(ValueError, match="pitch_strength"):
        SteeringConfig(pitch_strength=-1)
    with pytest.raises(ValueError, match="shift_tilt"):
        SteeringConfig(shift_tilt=0.5)
    with pytest.raises(ValueError, match="notes_per_second"):
        Steering(SteeringConfig(), VOCAB, notes_per_second=0)
    with pytest.raises(ValueError, match="pitch_class_histogram"):
        Steering(SteeringConfig(), VOCAB, pitch_class_histogram=[1, 2])


def test_retarget_keeps_strengths_and_works_with_an_existing_state():
    steering = Steering(SteeringConfig(pitch_strength=3.0), VOCAB, notes_per_second=2.0)
    state = steering.new_state(1)
    moved = steering.retarget(notes_per_second=8.0, pitch_class_histogram=BLACK_KEYS)
    assert moved.config.pitch_strength == 3.0 and moved.density_bias(state)[0] > 0


def test_works_without_velocity_classes():
    vocab = get_config("performance").vocab
    steering = Steering(SteeringConfig(), vocab, notes_per_second=4.0, pitch_class_histogram=BLACK_KEYS)
    out = steering.apply(np.zeros(vocab.num_classes), steering.new_state(1))
    assert out.shape == (1, 356) and out[0, 60] < 0 == out[0, 61]


def test_steering_for_takes_generate_style_controls():
    major = [1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1]
    one = steering_for(VOCAB, notes_per_second=[4], pitch_class_histogram=major)
    assert one.notes_per_second == 4.0 and one.pitch_class_histogram[1] == 0.0
    schedule = steering_for(VOCAB, notes_per_second=[2, 8], pitch_class_histogram=[major, BLACK_KEYS])
    assert schedule.notes_per_second is None and schedule.pitch_class_histogram is None
    off = steering_for(VOCAB, notes_per_second=4, pitch_class_histogram=major, disable_conditioning=True)
    assert off.notes_per_second is None and off.pitch_class_histogram is None and off.guards_release


def test_observe_returns_a_new_state_and_leaves_the_old_one_as_it_was():
    steering = Steering(SteeringConfig(), VOCAB, notes_per_second=4.0, pitch_class_histogram=C_TRIAD)
    before = steering.new_state(1)
    frozen = before.copy()
    after = steering.observe([ids(Event("note_on", 60))], before)
    after = steering.observe_density([ids(Event("note_on", 61))], after)
    after = steering.observe([ids(Event("time_shift", 30))], after)
    for f in dataclasses.fields(before):
        assert np.array_equal(getattr(before, f.name), getattr(frozen, f.name)), f.name
    assert after.notes[0] != before.notes[0] and after.open_count[0, 60] == 1 and after.open_count[0, 61] == 0
    # the same inputs give the same state and logits: a checkpoint can hold a state without copying it
    again = steering.observe([ids(Event("time_shift", 30))], steering.observe_density(
        [ids(Event("note_on", 61))], steering.observe([ids(Event("note_on", 60))], frozen)))
    logits = np.zeros((1, VOCAB.num_classes))
    assert np.array_equal(steering.apply(logits, again), steering.apply(logits, after))


def test_after_the_event_cap_only_a_one_step_shift_or_a_release_is_left():
    steering = Steering(SteeringConfig(max_step_events=3), VOCAB)
    state = steering.new_state(1)
    for event in (Event("note_on", 60), Event("velocity", 4), Event("velocity", 5)):
        assert np.isfinite(steering.apply(np.zeros((1, VOCAB.num_classes)), state)[0, ids(event)])
        state = steering.observe([ids(event)], state)
    left = np.flatnonzero(np.isfinite(steering.apply(np.zeros((1, VOCAB.num_classes)), state)[0]))
    assert {VOCAB.decode(int(i)) for i in left} == {Event("time_shift", 1), Event("note_off", 60)}
    state = steering.observe([ids(Event("time_shift", 1))], state)
    assert np.isfinite(steering.apply(np.zeros((1, VOCAB.num_classes)), state)).sum() > 2  # time moved: free again


def test_offline_generation_shares_the_event_cap():
    """The generator's steered stepper and the live voice take the same sampling step: no step of a generated
    performance holds more events than the cap (releases of sounding notes aside), even with time all but
    forbidden by the density request."""
    from tests.helpers import tiny_model
    model = tiny_model("density_conditioned_performance_with_dynamics")
    steering = Steering(SteeringConfig(max_step_events=4, density_max_bias=30.0, density_gain=30.0),
                        model.config.vocab, notes_per_second=20.0)
    for performance in _generate(model, steering, seconds=2.0, outputs=2):
        run = longest = 0
        for event in performance.events:
            run = 0 if event.kind == "time_shift" else run + (event.kind != "note_off")
            longest = max(longest, run)
        assert longest == 4  # the request pushes every step to the cap, never past it
