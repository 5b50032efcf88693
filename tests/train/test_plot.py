"""performance_rnn_plot: a hand-made two-track take drawn as a piano roll; bad input."""
from __future__ import annotations

import mido
import numpy as np
import pytest

from train import plot_cli
from train.piano_roll import read_parts


def _take(path):
    """Two tracks like a recorded take: the player's low C held 1-2 s (pedal 0-3 s), the model's high C 2-3 s."""
    midi = mido.MidiFile(ticks_per_beat=480)  # 120 qpm: 960 ticks per second
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000, time=0)])
    player = mido.MidiTrack([mido.MetaMessage("track_name", name="player", time=0),
                             mido.Message("control_change", control=64, value=127, time=0),
                             mido.Message("note_on", note=36, velocity=100, time=960),
                             mido.Message("note_off", note=36, velocity=0, time=960),
                             mido.Message("control_change", control=64, value=0, time=960)])
    model = mido.MidiTrack([mido.MetaMessage("track_name", name="model", time=0),
                            mido.Message("note_on", note=96, velocity=30, time=1920),
                            mido.Message("note_off", note=96, velocity=0, time=960)])
    midi.tracks += [meta, player, model]
    midi.save(path)
    return path


def test_parts_keep_tracks_pedal_and_timing(tmp_path):
    player, model = read_parts(_take(tmp_path / "take.mid"))
    assert (player.name, model.name) == ("player", "model")
    assert player.notes.pitch.tolist() == [36] and player.notes.start.tolist() == [1.0]
    assert player.notes.end.tolist() == [2.0]  # sustain not applied: the bar shows the key
    assert player.pedal == [(0.0, 3.0)]
    assert model.notes.start.tolist() == [2.0] and model.pedal == []


def test_plot_draws_notes_in_the_right_rows(tmp_path, capsys):
    from PIL import Image

    take = _take(tmp_path / "take.mid")
    out = tmp_path / "roll.png"
    assert plot_cli.main([str(take), "-o", str(out), "--width", "8", "--height", "4"]) == 0
    image = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert image.shape == (400, 800, 3)
    r, b = image[..., 0], image[..., 2]
    blue, orange = b - r > 90, r - b > 90  # the player's and the model's bars (legend swatches are short)
    blue_row, orange_row = (int(np.argmax(m.sum(1))) for m in (blue, orange))
    assert blue[blue_row].sum() > 150 and orange[orange_row].sum() > 150
    assert orange_row < blue_row - 200  # pitch 96 far above pitch 36
    blue_cols, orange_cols = np.flatnonzero(blue[blue_row]), np.flatnonzero(orange[orange_row])
    assert abs(blue_cols.max() - orange_cols.min()) <= 3  # the player's note ends where the model's starts (2 s)
    assert abs((blue_cols.max() - blue_cols.min()) - (orange_cols.max() - orange_cols.min())) <= 3  # both 1 s
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically


@pytest.mark.parametrize("content,message", [(b"not midi at all", "not a readable MIDI file"),
                                             (None, "no notes to draw")])
def test_bad_midi_is_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.mid"
    if content is None:
        empty = mido.MidiFile()
        empty.tracks.append(mido.MidiTrack())
        empty.save(path)
    else:
        path.write_bytes(content)
    with pytest.raises(SystemExit) as exit_info:
        plot_cli.main([str(path)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and err.count("\n") == 1
