"""Nonsense values are refused with one line naming the flag; a preset that is not UTF-8 is skipped."""
import pytest

from engine.bundle import load_bundle
from engine.errors import BundleError
from live.cli import main
from live.presets import discover_presets


@pytest.mark.parametrize("flag, value, words", [
    ("--max_note_seconds", "0", "must be a number in range 0.1..60 s, not 0.0"),
    ("--max_note_seconds", "-1", "must be a number in range 0.1..60 s, not -1.0"),
    ("--max_note_seconds", "nan", "must be a number in range 0.1..60 s, not nan"),
    ("--velocity_scale", "-1", "must be a number in range 0..4 x, not -1.0"),
    ("--refresh_seconds", "-1", "must be a number in range 0..600 s, not -1.0"),
    ("--call_silence", "-1", "must be a number in range 0.1..4 s, not -1.0"),
    ("--response_seconds", "-1", "must be a number in range 0..16 s, not -1.0"),
    ("--notes_per_second", "40", "must be a number in range 0..32 notes/s, not 40.0"),  # once silently clamped
    ("--channel", "17", "must be an integer in range 1..16, not 17"),
    ("--channel", "1.5", "must be an integer in range 1..16, not 1.5"),
    ("--temperature", "hot", "must be a number, not 'hot'"),
])
def test_nonsense_live_flags_exit_2_with_one_line(capsys, flag, value, words):
    with pytest.raises(SystemExit) as done:
        main(["--no-tui", "--no_input", flag, value])
    err = capsys.readouterr().err
    assert done.value.code == 2 and err == f"error: argument {flag}: {words}\n"


def test_a_directory_as_bundle_file_says_so(tmp_path):
    with pytest.raises(BundleError, match="is a folder; give a bundle file"):
        load_bundle(tmp_path)


def test_a_preset_that_is_not_utf8_is_skipped_with_a_notice(tmp_path):
    (tmp_path / "a.toml").write_text('name = "fine"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    errors = []
    assert [p.name for p in discover_presets([tmp_path], errors)] == ["fine"]
    assert len(errors) == 1 and "b.toml is not UTF-8 text; skipped" in errors[0] and "\n" not in errors[0]
