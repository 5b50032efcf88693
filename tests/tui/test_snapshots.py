"""Snapshots of the main screen (with a fixed piano roll) and the help screen, at a fixed terminal size.

Deterministic: no clock runs (autostart off, no refresh timer), the notes and `now` are fixed, and the
presets are the shipped ones. Regenerate with `pytest tests/tui/test_snapshots.py --snapshot-update`."""
import mido

from live.presets import discover_presets, shipped_presets_dir
from live.tui.app import make_app
from tests.tui.conftest import build_session

SIZE = (130, 40)


def fixed_app(tmp_path):
    return make_app(build_session(), presets=discover_presets([shipped_presets_dir()]), refresh_hz=0,
                    autostart=False, cc_map_path=tmp_path / "map.json", presets_dir=tmp_path)


def fixed_notes(app) -> None:
    """A C major arpeggio from the player, a model answer a third up, one model note still sounding."""
    for i, pitch in enumerate((60, 64, 67, 72)):
        app.log_notes.add(1.0 + i * 0.5, "input", mido.Message("note_on", note=pitch, velocity=80))
        app.log_notes.add(1.4 + i * 0.5, "input", mido.Message("note_off", note=pitch))
    for i, pitch in enumerate((64, 67, 71, 76, 79)):
        app.log_notes.add(4.0 + i * 0.6, "model", mido.Message("note_on", note=pitch, velocity=70))
        if i < 4:
            app.log_notes.add(4.5 + i * 0.6, "model", mido.Message("note_off", note=pitch))
    app.log_notes.add(6.2, "input", mido.Message("note_on", note=48, velocity=90))


async def _main_screen(pilot):
    app = pilot.app
    fixed_notes(app)
    await pilot.press("3")  # a preset: E harmonic minor
    app.refresh_view(now=7.0)
    await pilot.pause()


def test_main_screen(snap_compare, tmp_path):
    assert snap_compare(fixed_app(tmp_path), run_before=_main_screen, terminal_size=SIZE)


def test_help_screen(snap_compare, tmp_path):
    assert snap_compare(fixed_app(tmp_path), press=["question_mark"], terminal_size=SIZE)
