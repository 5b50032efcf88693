"""Ports (matching, watcher), the output note tracker, the recorder, and the CLI's one-line errors."""
import mido
import pytest

from live import ports
from live.cli import main
from live.commands import CommandQueue, ReplaceOutput
from live.midi_output import MidiOutput
from live.ports import PortConfig, PortError, PortWatcher, match_port
from live.recorder import Recorder
from tests.live.fakes import ListPort, note

NAMES = ["Midi Through:Midi Through Port-0", "RtMidiOut Client:Performance RNN", "Digital Piano:MIDI 1"]


def test_port_names_match_exactly_then_loosely_and_errors_list_the_ports():
    assert match_port("Digital Piano:MIDI 1", NAMES, "input") == "Digital Piano:MIDI 1"
    assert match_port("digital  piano", NAMES, "input") == "Digital Piano:MIDI 1"
    with pytest.raises(PortError, match=r"unknown output port 'Synth'; available: 'Midi Through"):
        match_port("Synth", NAMES, "output")
    with pytest.raises(PortError, match="'midi' is ambiguous: it matches 'Midi Through:Midi Through Port-0', 'Rt"):
        match_port("midi", NAMES, "input")


def test_virtual_ports_on_windows_point_to_loopmidi(monkeypatch):
    monkeypatch.setattr(ports.sys, "platform", "win32")
    with pytest.raises(PortError, match="loopMIDI"):
        ports.open_output(PortConfig())


def test_watcher_reports_a_lost_output_and_reconnects_when_it_returns(monkeypatch):
    listing = [["Synth:in"], [], [], ["Synth:in"]]
    monkeypatch.setattr(ports, "output_names", lambda: listing.pop(0))
    monkeypatch.setattr(ports, "open_output", lambda config: ("new port", "output 'Synth:in'"))
    commands, reports = CommandQueue(), []
    watcher = PortWatcher(PortConfig(output="synth"), commands, None, [], reports.append)
    for _ in range(4):
        watcher.check()
    sent = commands.drain()
    assert sent == [ReplaceOutput(None, "output 'synth' lost"), ReplaceOutput("new port", "reconnected output 'Synth:in'")]
    assert reports == ["output port 'synth' was lost: notes off; waiting for it to return",
                       "reconnected output 'Synth:in'"]


class _Clock:
    def now(self):
        return 0.0


def test_output_restrikes_cleanly_drops_orphan_note_offs_and_panics_everything():
    port = ListPort(_Clock())
    out = MidiOutput(port, flush_seconds=0)
    out.send(note("note_on", 60))
    out.send(note("note_on", 60))  # re-struck while sounding
    out.send(note("note_off", 61))  # never sounded: dropped
    out.send(mido.Message("note_on", note=62, velocity=0))  # velocity 0 is a note-off: dropped too
    out.send(note("note_on", 64, channel=5))
    out.panic()
    kinds = [(m.type, m.channel, getattr(m, "note", getattr(m, "control", None))) for _, m in port.sent]
    assert kinds[:5] == [("note_on", 0, 60), ("note_off", 0, 60), ("note_on", 0, 60), ("note_on", 5, 64),
                         ("note_off", 0, 60)]
    assert kinds[5] == ("note_off", 5, 64)
    assert kinds[6:] == [("control_change", c, 123) for c in range(16)] + [("control_change", c, 120)
                                                                            for c in range(16)]
    out.close()  # nothing sent since the panic: no second one
    assert len(port.sent) == 38 and port.closed


def test_recorder_writes_player_and_model_tracks_with_real_times_atomically(tmp_path):
    path = tmp_path / "take.mid"
    rec = Recorder(path)
    rec.add("player", 0.5, note("note_on", 60))
    rec.add("model", 0.75, note("note_on", 67, 90))
    rec.add("player", 1.0, note("note_off", 60))
    rec.add("model", 1.25, mido.Message("control_change", control=123))  # not a note: left out
    rec.add("player", 1.5, note("note_on", 62))  # still held at the end: closed at the last event
    rec.add("model", 2.0, note("note_off", 67))
    assert rec.save() == str(path)
    midi = mido.MidiFile(path)
    assert [t.name for t in midi.tracks] == ["Performance RNN Live", "player", "model"]

    def timed(track):
        out, ticks = [], 0
        for m in track:
            ticks += m.time
            if m.type.startswith("note"):
                out.append((round(mido.tick2second(ticks, midi.ticks_per_beat, 500000), 3), m.type, m.note))
        return out

    assert timed(midi.tracks[1]) == [(0.5, "note_on", 60), (1.0, "note_off", 60), (1.5, "note_on", 62),
                                     (2.0, "note_off", 62)]
    assert timed(midi.tracks[2]) == [(0.75, "note_on", 67), (2.0, "note_off", 67)]
    assert [p.name for p in tmp_path.iterdir()] == ["take.mid"]  # no temp file left behind


def test_a_take_keeps_the_program_changes_of_the_channels_it_plays(tmp_path):
    rec = Recorder(tmp_path / "take.mid")
    for channel in range(3):  # the player's program goes to every channel; the player plays on channel 2
        rec.add("player", 0.0, mido.Message("program_change", channel=channel, program=11))
    rec.add("model", 0.0, mido.Message("program_change", channel=0, program=0))
    rec.add("player", 0.5, note("note_on", 60).copy(channel=2))
    rec.add("model", 0.75, note("note_on", 67, 90))
    rec.add("model", 1.0, mido.Message("program_change", channel=0, program=40))  # changed while playing
    rec.add("model", 1.25, note("note_off", 67))
    midi = mido.MidiFile(rec.save())
    player, model = ([(m.type, m.channel, getattr(m, "program", None)) for m in t if not m.is_meta]
                     for t in midi.tracks[1:])
    assert player[0] == ("program_change", 2, 11) and [m for m in player if m[0] == "program_change"] == [player[0]]
    assert model[0] == ("program_change", 0, 0) and ("program_change", 0, 40) in model


@pytest.mark.parametrize("argv, message", [
    (["--lookahead_ms", "5000", "--no-tui"], "error: argument --lookahead_ms: must be a number in range "
                                             "10..1000 ms, not 5000.0"),
    (["--pitch_class_histogram", "1,2,3", "--no-tui"], "error: argument --pitch_class_histogram: "
                                                       "pitch_class_histogram must be 12 numbers"),
    (["--bundle_file", "/nonexistent.safetensors", "--no-tui"], "error: bundle file /nonexistent.safetensors "
                                                                 "does not exist"),
    (["--mode", "jam"], "error: argument --mode: invalid choice: 'jam'"),
])
def test_cli_errors_are_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith(message) and err.count("\n") == 1, err


def test_cli_without_a_shipped_model_says_how_to_get_one(monkeypatch, tmp_path, capsys):
    import engine.bundle_info

    monkeypatch.setattr(engine.bundle_info, "default_bundle_path", lambda: tmp_path / "default.safetensors")
    with pytest.raises(SystemExit) as exit_info:
        main(["--no-tui", "--duration", "1"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err == f"error: no shipped model at {tmp_path / 'default.safetensors'}; train one with " \
                  "performance_rnn_train (see the README) or pass --bundle_file PATH\n"


def test_cli_names_the_unknown_output_port(monkeypatch, tmp_path, capsys, tiny_bundle_path):
    monkeypatch.setattr(ports, "output_names", lambda: ["Synth:in 1"])
    with pytest.raises(SystemExit):
        main(["--no-tui", "--bundle_file", str(tiny_bundle_path()), "--output", "piano"])
    assert capsys.readouterr().err == "error: unknown output port 'piano'; available: 'Synth:in 1' " \
                                      "(see --list-ports)\n"


def test_inputs_never_include_our_own_virtual_output(monkeypatch):
    monkeypatch.setattr(ports, "input_names", lambda: ["RtMidiOut Client:Performance RNN", "Keys:out"])
    opened = []
    monkeypatch.setattr(ports.mido, "open_input", lambda name, **kw: opened.append(name) or name)
    assert ports.open_inputs(PortConfig(all_inputs=True), None) == (["Keys:out"], "all inputs ('Keys:out')")
    with pytest.raises(PortError, match=r"unknown input port 'rnn'; available: 'Keys:out'"):
        ports.open_inputs(PortConfig(input="rnn"), None)
