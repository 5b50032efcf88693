"""The panel on the live helper's real Session (tiny trained model, injected list port, no OS MIDI ports)."""
import threading

import mido
import pytest

from live.session import Session, SessionConfig
from live.settings import Settings
from live.tui.app import make_app
from tests.tui.conftest import LockedListPort, wait_until


@pytest.fixture
def real_session(tiny_bundle_path):
    config = SessionConfig(Settings(mode="solo", notes_per_second=3.0, temperature=0.7), seed=0,
                           bundle_file=str(tiny_bundle_path("multiconditioned_performance_with_dynamics")))
    port = LockedListPort()
    session = Session(config, output_port=port, open_ports=False, report=lambda text: None)
    session.port = port
    return session


async def test_cli_flags_set_the_knobs_and_knobs_steer_the_session(real_session, tmp_path):
    app = make_app(real_session, presets=[], cc_map_path=tmp_path / "map.json", refresh_hz=0)
    voice = lambda: real_session.scheduler.performer.voice  # noqa: E731 (a swap replaces it)
    async with app.run_test(size=(130, 40)) as pilot:
        assert app.main.query_one("#notes_per_second").value == 3.0  # from the config, not a preset
        assert app.main.query_one("#temperature").value == 0.7
        assert app.main.query_one("#answer_s").text_value() == "as call"
        assert await wait_until(lambda: real_session.clock_running)
        app.set_focus(app.main.query_one("#notes_per_second"))
        await pilot.press("pageup")
        assert await wait_until(lambda: voice().settings.notes_per_second == 8.0)
        app.set_focus(app.main.query_one("#temperature"))
        await pilot.press("l")
        cc = mido.Message("control_change", channel=0, control=74, value=0)
        for value in (0, 127):  # the rtmidi thread calls the session's input callback
            t = threading.Thread(target=real_session._on_input, args=(cc.copy(value=value),))
            t.start()
            t.join()
        assert await wait_until(lambda: voice().settings.temperature == 5.0)
        assert app.cc_map.bindings == {(0, 74): "temperature"}
        await pilot.press("q")
    assert not real_session.clock_running
    sent = real_session.port.snapshot()
    assert sum(1 for _, m in sent if m.type == "control_change" and m.control == 123) >= 16


async def test_model_hot_swap_from_the_models_folder_keeps_the_clock(real_session, tmp_path, monkeypatch,
                                                                     tiny_bundle_path):
    models = tmp_path / "models"
    models.mkdir()
    tiny_bundle_path("multiconditioned_performance_with_dynamics", layers=(16,)).rename(models / "small.safetensors")
    monkeypatch.setenv("PRNN_MODELS", str(models))
    app = make_app(real_session, presets=[], cc_map_path=None, refresh_hz=0)
    old = real_session.scheduler.performer.voice
    async with app.run_test(size=(130, 40)) as pilot:
        assert await wait_until(lambda: real_session.scheduler.tick > 5)
        await pilot.press("b")
        names = app.screen.items
        await pilot.press(*["down"] * names.index("small"), "enter")
        assert await wait_until(lambda: real_session.scheduler.performer.voice is not old, timeout=10)
        tick = real_session.scheduler.tick
        assert await wait_until(lambda: real_session.scheduler.tick > tick + 5)  # the clock never stopped
        assert app.state.model == "small"
        await pilot.press("q")
