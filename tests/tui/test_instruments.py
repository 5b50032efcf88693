"""Picking the GM instruments in the panel: program changes reach the output at once, presets carry them."""
from live.presets import Preset
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
