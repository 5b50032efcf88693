"""One table of controls: the CLI, presets, knobs and commands all take defaults, ranges and checks from it."""
import pytest

from engine.errors import ConfigError
from live.cli import build_parser
from live.commands import SetControl
from live.presets import PRESET_CONTROLS, InstrumentState, preset_from_dict
from live.session import SessionConfig
from live.settings import CONTROLS, Settings
from live.tui.control_map import CALL_KNOBS, KNOBS


def test_cli_preset_knob_and_settings_defaults_are_the_tables():
    args = build_parser().parse_args([])
    state, settings = InstrumentState(), SessionConfig().settings
    for c in CONTROLS.values():
        assert getattr(args, c.id) == c.default, c.id
        assert getattr(settings, c.id) == c.default, c.id
        if c.id in PRESET_CONTROLS:
            assert getattr(state, c.id) == c.default, c.id
    for spec in KNOBS + CALL_KNOBS:
        c = CONTROLS[spec.id]
        assert spec.range == (c.low, c.high, c.step) and spec.low_label == c.off


def test_every_knob_of_the_panel_is_a_preset_control_with_a_range():
    assert {spec.id for spec in KNOBS + CALL_KNOBS} <= set(PRESET_CONTROLS)
    assert all(CONTROLS[name].step is not None for name in (spec.id for spec in KNOBS + CALL_KNOBS))


@pytest.mark.parametrize("key, value, words", [
    ("temperature", 9, "temperature must be a number in range 0.05..5, not 9"),
    ("notes_per_second", -1, "notes_per_second must be a number in range 0..32 notes/s, not -1"),
    ("mode", "loud", "mode must be one of solo, duet, call, mute, not 'loud'"),
    ("conditioning", "yes", "conditioning must be true or false, not 'yes'"),
])
def test_a_preset_out_of_range_is_refused_with_the_key_and_range(key, value, words):
    with pytest.raises(ConfigError) as err:
        preset_from_dict({"name": "bad", key: value})
    assert str(err.value) == words and "\n" not in str(err.value)


def test_commands_settings_and_presets_share_one_check():
    for build in (lambda v: SetControl("temperature", v), lambda v: Settings(temperature=v),
                  lambda v: InstrumentState(temperature=v)):
        with pytest.raises(ConfigError, match=r"temperature must be a number in range 0.05..5, not 6"):
            build(6)
    assert SetControl("channel", 3.0).value == 3 and isinstance(SetControl("channel", 3.0).value, int)
    with pytest.raises(ConfigError, match="unknown control 'loudness'"):
        SetControl("loudness", 1)
