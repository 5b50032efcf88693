import mido
import numpy as np
import pytest

from engine.configs import CONFIGS
from engine.errors import ConfigError, MidiReadError
from engine.generation import _Trail, ControlSchedule, GenerationOptions, generate, sequence_log_likelihood
from engine.performance import Performance
from engine.primers import build_primer, melody_notes
from engine.stepper import Stepper
from tests.helpers import synthetic_piece, tiny_model

MELODY = [60, 62, 64, 65, 67, 69, 71, 72]


def _run(config_name, primer, num_steps=600, outputs=2, **kw):
    model = tiny_model(config_name)
    options = GenerationOptions(num_steps=num_steps, seed=kw.pop("seed", 0), **kw)
    return generate(Stepper(model), primer, options, ControlSchedule(model.config, num_steps), outputs)


def _check_output(result, primer, num_steps, tmp_path):
    for i, generated in enumerate(result):
        perf = generated.performance
        assert perf.num_steps == num_steps
        assert perf.ids[:len(primer)].tolist() == primer.ids.tolist()
        path = tmp_path / f"out_{i}.mid"
        perf.to_midi(path)
        notes = Performance.from_midi(path, perf.num_velocity_bins).to_notes()
        assert len(notes) and notes.end.max() <= num_steps / 100 + 1e-6


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_config_generates_valid_midi_after_a_melody_primer(name, tmp_path):
    primer = build_primer(CONFIGS[name].num_velocity_bins, 600, melody=MELODY)
    _check_output(_run(name, primer), primer, 600, tmp_path)


def _pedal_midi(path):
    track = mido.MidiTrack([mido.Message("control_change", control=64, value=127, time=0),
                            mido.Message("note_on", note=60, velocity=90, time=0),
                            mido.Message("note_off", note=60, velocity=0, time=220),
                            mido.Message("control_change", control=64, value=0, time=440)])
    midi = mido.MidiFile(ticks_per_beat=220)
    midi.tracks.append(track)
    midi.save(path)
    return path


@pytest.mark.parametrize("kind", ["pitches", "melody", "midi", "none"])
def test_every_primer_kind(kind, tmp_path):
    args = {"pitches": {"pitches": [60, 64, 67]}, "melody": {"melody": [60, -2, -1, 67]},
            "midi": {"midi": _pedal_midi(tmp_path / "primer.mid")}, "none": {}}[kind]
    primer = build_primer(32, 500, **args)
    expected_steps = {"pitches": 50, "melody": 50, "midi": 50, "none": 100}[kind]  # midi: sustain NOT applied
    assert primer.num_steps == expected_steps
    _check_output(_run("performance_with_dynamics", primer, num_steps=500), primer, 500, tmp_path)


def test_melody_rules_hold_and_off():
    notes = melody_notes([60, -2, -1, 67, 64, -2])
    assert notes.to_tuples() == [(60, 0.0, 0.25, 100), (67, 0.375, 0.5, 100), (64, 0.5, 0.75, 100)]


def test_empty_primer_is_one_short_time_shift():
    assert build_primer(0, 50).events[0].value == 50
    assert [e.value for e in build_primer(0, 3000).events] == [100]


@pytest.mark.parametrize("kwargs, word", [({"pitches": [60, 200]}, "primer_pitches"),
                                          ({"melody": [60, -3]}, "primer_melody"),
                                          ({"pitches": "C"}, "primer_pitches"),
                                          ({"pitches": [60], "melody": [60]}, "only one primer"),
                                          ({"melody": [60] * 80}, "num_steps")])
def test_bad_primers_are_named(kwargs, word):
    with pytest.raises(ConfigError, match=word):
        build_primer(32, 500, **kwargs)


def test_unreadable_primer_midi(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not a midi file at all")
    with pytest.raises(MidiReadError):
        build_primer(32, 500, midi=bad)


def test_greedy_generation_regenerates_the_piece():
    model = tiny_model("performance_with_dynamics")
    piece = synthetic_piece(model.config)
    primer = Performance(piece[:1], 32)
    total = Performance(piece, 32).num_steps
    result = generate(Stepper(model), primer, GenerationOptions(num_steps=total, temperature=1e-4),
                      ControlSchedule(model.config, total), num_outputs=2)
    assert [r.performance.ids.tolist() for r in result] == [piece.tolist()] * 2


def test_beam_search_runs_is_seeded_and_beats_sampling():
    primer = build_primer(32, 800, melody=MELODY)
    beam = dict(beam_size=3, branch_factor=2, steps_per_iteration=3, temperature=1.5)
    first = _run("performance_with_dynamics", primer, 800, seed=5, **beam)
    again = _run("performance_with_dynamics", primer, 800, seed=5, **beam)
    assert [r.performance.ids.tolist() for r in first] == [r.performance.ids.tolist() for r in again]
    plain = _run("performance_with_dynamics", primer, 800, seed=5, temperature=1.5)
    per_event = lambda rs: np.mean([r.log_likelihood / r.num_events for r in rs])  # noqa: E731
    assert per_event(first) > per_event(plain)


def test_token_trail_reorders_rows_like_a_full_token_array():
    rng = np.random.default_rng(0)
    trail, full = _Trail.empty(1), np.zeros((1, 0), np.int64)
    for _ in range(30):
        rows = rng.integers(0, len(full), rng.integers(1, 6))
        new = rng.integers(0, 388, (len(rows), rng.integers(1, 4)))
        trail, full = trail.select(rows).extend(new), np.concatenate([full[rows], new], 1)
    assert trail.length == full.shape[1]
    np.testing.assert_array_equal(trail.resolve(), full)


def test_top_k_one_is_greedy():
    primer = build_primer(32, 400, pitches=[60])
    a = _run("performance_with_dynamics", primer, 400, seed=1, top_k=1)
    b = _run("performance_with_dynamics", primer, 400, seed=2, temperature=1e-4)
    assert a[0].performance.ids.tolist() == b[1].performance.ids.tolist()


def test_control_lists_spread_over_the_length():
    config = CONFIGS["optional_multiconditioned_performance_with_dynamics"]
    schedule = ControlSchedule(config, 100, notes_per_second=[1, 40], disable_conditioning=[False, False, True],
                               pitch_class_histogram=[1] + [0] * 11)
    controls = schedule.at([0, 33, 34, 50, 67, 1000])
    assert controls[:, 0].tolist() == [0, 0, 1 - 1, 0, 1, 1]  # disable: index = step * 3 // 100
    assert controls[:, 1 + 1].tolist() == [1, 1, 1, 0, 0, 0]  # density bin [1,2) until step 50
    assert controls[0, -12:].tolist() == [1] + [0] * 11
    assert controls[-1, 1:].sum() == 0  # disabled: all but the flag are zero


def test_controls_follow_the_clock_of_the_performance():
    config = CONFIGS["density_conditioned_performance_with_dynamics"]
    schedule = ControlSchedule(config, 200, notes_per_second=[1, 40])
    shift = config.vocab.offsets["time_shift"]
    ids = [60, shift + 100, 60 + 128, shift + 50]  # the clock reads 0, 100, 100, 150 after each event
    assert schedule.for_inputs(ids).argmax(1).tolist() == [1, 6, 6, 6]


@pytest.mark.parametrize("kwargs", [{"notes_per_second": 0}, {"notes_per_second": [2, -1]},
                                    {"pitch_class_histogram": [1] * 11}, {"pitch_class_histogram": [0] * 12},
                                    {"pitch_class_histogram": [-1] + [1] * 11}, {"disable_conditioning": [2]},
                                    {"notes_per_second": []}])
def test_bad_controls_raise(kwargs):
    with pytest.raises(ConfigError):
        ControlSchedule(CONFIGS["multiconditioned_performance_with_dynamics"], 100, **kwargs)


def test_sequence_log_likelihood_matches_the_batched_model():
    model = tiny_model("multiconditioned_performance_with_dynamics")
    piece = synthetic_piece(model.config)
    schedule = ControlSchedule(model.config, 500, notes_per_second=8)
    stepped = sequence_log_likelihood(Stepper(model), piece, schedule)
    per_event = np.tile(schedule.at([0]), (len(piece), 1))
    assert stepped == pytest.approx(float(model.log_likelihood(piece, per_event)[0]), abs=1e-3)


def test_bad_options_raise():
    for kwargs in ({"num_steps": 0}, {"beam_size": 0}, {"temperature": -1}, {"steps_per_iteration": 1.5}):
        with pytest.raises((ConfigError, ValueError)):
            GenerationOptions(**kwargs)
