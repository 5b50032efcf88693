"""GM programs: names and numbers, the program changes the scheduler sends, the synth following them, the flags."""
import subprocess
import sys

import mido
import pytest

from engine.errors import ConfigError
from live.commands import ReplaceOutput, SetControl
from live.presets import InstrumentState, Preset, load_preset, preset_to_toml
from live.programs import GM_NAMES, program_label
from live.settings import check
from live.synth import Synth, SynthConfig
from tests.live.fakes import ListPort, Rig
from tests.live.instrument import ROOT


def test_gm_names_numbers_and_parts_of_names():
    assert len(GM_NAMES) == len(set(GM_NAMES)) == 128
    assert check("program", 1) == check("program", "1") == check("program", "acoustic grand piano") == 1
    assert check("program", "Vibraphone") == check("player_program", "vibra") == 12
    assert check("program", "electric-piano-2") == 6
    assert check("program", "gunshot") == 128 and program_label(128) == "128 Gunshot"


@pytest.mark.parametrize("bad, says", [(0, "1..128"), ("129", "1..128"), ("piano", "matches Acoustic Grand Piano"),
                                       ("kazoo", "is no known name"), ("", "is no known name"), (True, "1..128"),
                                       (12.5, "1..128")])
def test_bad_programs_say_what_to_give(bad, says):
    with pytest.raises(ConfigError, match=says):
        check("program", bad)


def programs_sent(sent):
    return [(m.channel, m.program) for _, m in sent if m.type == "program_change"]


def test_the_scheduler_sends_the_programs_at_start_on_change_and_to_every_new_port():
    rig = Rig(duration=0.3, channel=3, program=12, player_program=41)
    new_port = ListPort(rig.clock)
    rig.command(0.1, SetControl("player_program", "cello"))
    rig.command(0.15, ReplaceOutput(new_port, "a synth"))
    rig.run()
    start = [(2, 11)] + [(c, 40) for c in range(16) if c not in (2, 9)]  # the drums channel keeps its kit
    changed = [(2, 11)] + [(c, 42) for c in range(16) if c not in (2, 9)]
    assert programs_sent(rig.port.sent) == start + changed
    assert programs_sent(new_port.sent) == changed
    first_note = next(t for t, m in rig.port.sent if m.type == "note_on")
    assert all(t < first_note for t, m in rig.port.sent[:15])


def test_the_synth_follows_program_changes_and_keeps_them_for_the_audio_take():
    config = SynthConfig(audio_driver="none")
    synth = Synth(config)
    try:
        synth.send(mido.Message("program_change", channel=0, program=40))
        synth.send(mido.Message("program_change", channel=3, program=11))
        synth.send(mido.Message("program_change", channel=9, program=5))  # drums: ignored
        assert [synth._fs.program_info(c)[2] for c in (0, 3, 9)] == [40, 11, 0]
    finally:
        synth.close()
    assert (config.model_program, config.player_program) == (40, 11)


def test_presets_store_programs_by_number_or_name(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('name = "vibes"\nprogram = "vibraphone"\nplayer_program = 5\n')
    state = load_preset(path).state
    assert (state.program, state.player_program) == (12, 5)
    assert "program = 12\n" in preset_to_toml(Preset("x", state=state))
    assert InstrumentState().program == 1
    with pytest.raises(ConfigError, match="program 'kazoo' is no known name"):
        InstrumentState(program="kazoo")


def test_the_program_flags_take_names_and_refuse_nonsense():
    from live.cli import build_parser, session_config

    args = build_parser().parse_args(["--program", "vibraphone", "--player_program", "40", "--no-synth"])
    settings = session_config(args).settings
    assert (settings.program, settings.player_program) == (12, 40)
    out = subprocess.run([sys.executable, "-m", "live.cli", "--no-tui", "--program", "kazoo"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 2
    assert "--program: 'kazoo' is no known name; give 1..128 or a name such as 'Electric Piano 1'" in out.stderr
