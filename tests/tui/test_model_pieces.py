"""Scales, presets (load/save), MIDI-learn map and the note log: the TUI's pieces that need no app."""
import mido
import pytest

from engine.errors import ConfigError
from live.cc_map import CCMap, CCMove, Learned
from live.presets import (InstrumentState, Preset, discover_presets, load_preset, preset_from_dict,
                          save_preset, shipped_presets_dir)
from live.scales import SCALES, levels_to_histogram, root_index, scale_levels
from live.tui.note_log import MODEL, PLAYER, NoteLog


def cc(control, value, channel=0):
    return mido.Message("control_change", channel=channel, control=control, value=value)


def note(kind, pitch, velocity=80):
    return mido.Message(kind, note=pitch, velocity=velocity if kind == "note_on" else 0)


def test_scale_levels_on_any_root():
    assert scale_levels("major", "C") == (8, 0, 4, 0, 4, 4, 0, 4, 0, 4, 0, 4)
    # A blues: A C D D# E G
    assert [i for i, v in enumerate(scale_levels("blues", "A")) if v] == [0, 2, 3, 4, 7, 9]
    assert scale_levels("whole_tone", "C#") == (0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4)
    assert root_index("Bb") == 10 and root_index(3) == 3
    assert len(SCALES) == 8
    assert levels_to_histogram((0,) * 12) is None
    with pytest.raises(ConfigError, match="root must be"):
        root_index("H")


def test_shipped_presets_load_and_differ():
    presets = discover_presets([shipped_presets_dir()])
    assert len(presets) >= 6
    keys = {(p.state.notes_per_second, p.state.scale, p.state.root, p.state.mode, p.state.conditioning)
            for p in presets}
    assert len(keys) == len(presets)


def test_preset_round_trip_and_no_overwrite(tmp_path):
    state = InstrumentState(notes_per_second=7.5, temperature=1.25, root="Eb", scale="custom",
                            pitch_levels=(1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3), mode="call", answer_s=2.5)
    first = save_preset(Preset("My Groove!", "test", state), tmp_path)
    second = save_preset(Preset("My Groove!", "again", state), tmp_path)
    assert first.name == "my-groove.toml" and second.name == "my-groove-2.toml"
    loaded = load_preset(first)
    assert loaded.name == "My Groove!" and loaded.state == state and loaded.state.root == "D#"


def test_preset_errors_name_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset key 'tempo'"):
        preset_from_dict({"tempo": 120})
    with pytest.raises(ConfigError, match="temperature must be a number in range 0.05..5"):
        preset_from_dict({"temperature": 9})
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_preset(bad)


def test_cc_map_learn_move_and_storage(tmp_path):
    m = CCMap()
    assert m.feed(cc(74, 10)) is None
    m.learn("temperature")
    assert m.feed(cc(74, 10, channel=2)) == Learned("temperature", 2, 74)
    move = m.feed(cc(74, 127, channel=2))
    assert move == CCMove("temperature", 1.0, pressed=True)
    assert m.feed(cc(74, 127, channel=2)).pressed is False  # no new press while held up
    m.learn("temperature")
    m.feed(cc(1, 0))
    assert m.bindings == {(0, 1): "temperature"}  # relearning moves the control
    path = m.save(tmp_path / "map.json")
    assert CCMap.load(path, {"temperature"}).bindings == {(0, 1): "temperature"}
    with pytest.raises(ConfigError, match="unknown control 'temperature'"):
        CCMap.load(path, {"other"})
    assert CCMap.load(tmp_path / "missing.json").bindings == {}


def test_note_log_tracks_parts_and_rates():
    log = NoteLog(window_seconds=10)
    for i in range(8):
        log.add(i * 0.5, "model", note("note_on", 60 + i))
        log.add(i * 0.5 + 0.25, "model", note("note_off", 60 + i))
    log.add(3.9, "input", note("note_on", 48))
    log.add(3.9, "player", note("note_on", 48))  # the thru copy is not a second note
    assert log.sounding() == {48: PLAYER}
    assert log.notes_per_second(MODEL, 4.0) == pytest.approx(7 / 4)  # onsets 0.5..3.5 in (0, 4]
    assert log.notes_per_second(PLAYER, 4.0) == pytest.approx(0.25)
    log.release_all(5.0)
    assert log.sounding() == {}
    log.prune(20.0)
    assert log.visible(20.0) == []


def test_a_broken_user_preset_is_skipped_with_a_message(tmp_path):
    (tmp_path / "good.toml").write_text('name = "ok"\nscale = "blues"\n')
    (tmp_path / "bad.toml").write_text('name = "bad"\nmode = "karaoke"\n')
    problems = []
    found = discover_presets([tmp_path], errors=problems)
    assert [p.name for p in found] == ["ok"]
    assert len(problems) == 1 and "mode must be one of" in problems[0] and "bad.toml" in problems[0]


def test_engine_messages_coalesce_and_the_sink_never_blocks():
    from live.scheduler import NoteSent, StateChanged, StatsReport
    from live.tui.messages import EngineSink, EngineStateChanged, NotesArrived, PlayerControlChange, StatsUpdated

    posted = []
    sink = EngineSink(type("App", (), {"post_message": lambda self, m: posted.append(m)})())
    msg = note("note_on", 60)
    sink(NoteSent(1.0, "model", msg))
    sink(StatsReport(1.0, 100, 0, 0.0, 0.001, 3, 0, 0))
    sink(StateChanged("mode", "duet"))
    assert sink.drain() == [(1.0, "model", msg)] and sink.drain() == []
    a, b = NotesArrived(), NotesArrived()
    assert b.can_replace(a)
    assert StatsUpdated(None).can_replace(StatsUpdated(None))
    assert EngineStateChanged("mode", "solo").can_replace(EngineStateChanged("mode", "duet"))
    assert not EngineStateChanged("call", "x").can_replace(EngineStateChanged("mode", "duet"))
    assert PlayerControlChange(cc(7, 1)).can_replace(PlayerControlChange(cc(7, 5)))
    assert not PlayerControlChange(cc(7, 1)).can_replace(PlayerControlChange(cc(8, 5)))
    assert [type(m).__name__ for m in posted] == ["NotesArrived", "StatsUpdated", "EngineStateChanged"]
