"""Picking the GM instruments in the panel: program changes reach the output at once, presets carry them."""
from live.presets import Preset
from live.tui.widgets.meters import _level as level_row
from tests.tui.conftest import wait_until
from tests.tui.test_app import SIZE, app_for


def programs(session):
    return [(m.channel, m.program) for _, m in session.port.snapshot() if m.type == "program_change"]


async def test_g_and_shift_g_pick_the_model_and_player_instruments(session, tmp_path):
    app = app_for(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(lambda: (0, 0) in programs(session))  # the panel's state is sent at start
        await pilot.press("g", *["down"] * 11, "enter")  # 12 Vibraphone
        assert app.state.program == 12
        assert await wait_until(lambda: programs(session)[-15][0] == 0 and programs(session)[-15][1] == 11)
        await pilot.press("G", *["down"] * 4, "enter")  # 5 Electric Piano 1
        assert await wait_until(lambda: programs(session)[-14:] == [(c, 4) for c in range(1, 16) if c != 9])
        assert "12 Vibraphone" in str(app.main.query_one("#programs").render())
        app.presets.append(Preset("organ", state=app.state.replace(program=20)))
        await pilot.press(str(len(app.presets)))
        assert await wait_until(lambda: programs(session)[-15] == (0, 19))


async def test_the_meters_show_the_synth_level_while_the_model_plays(tmp_path):
    from live.synth import SynthConfig
    from tests.tui.conftest import build_session

    session = build_session(synth=SynthConfig(audio_driver="none"))  # the built-in synth, rendered in-process
    app = app_for(session, tmp_path)
    app.refresh_hz = 15.0
    async with app.run_test(size=SIZE):
        meters = app.main.query_one("Meters")
        assert await wait_until(lambda: meters.reading.audio is not None and meters.reading.audio[0] > -40,
                                timeout=30), (meters.reading.audio, session.scheduler.tick)
        assert level_row(meters.reading.audio)[0].endswith(" dB")
    assert session.synth.listeners == []  # the panel closed its meter


def test_the_audio_row_reads_rms_and_shows_the_peak():
    shown, bar = level_row((-23.4, -2.0))
    assert shown == "-23 dB" and bar.plain == "▮" * 10 + " pk -2" and "[red]" in bar.markup
    assert level_row((-200.0, -200.0))[0] == "silent" and level_row(None) == ("–", "no built-in synth")
