"""Pilot tests: every knob and key reaches the scheduler's control state; presets load and save; MIDI learn.

The app drives a real Scheduler on the wall clock (scripted model, list port); the scheduler applies
commands on its own thread, so assertions poll until the state arrives."""
import threading

import mido
import pytest

from live.presets import discover_presets, load_preset, shipped_presets_dir
from live.scales import scale_levels
from live.tui.app import make_app
from live.tui.messages import PlayerControlChange
from live.tui.screens.help import HelpScreen
from tests.tui.conftest import wait_until

SIZE = (130, 40)


def app_for(session, tmp_path, **kw):
    kw.setdefault("presets", discover_presets([shipped_presets_dir()]))
    kw.setdefault("cc_map_path", tmp_path / "midi_map.json")
    kw.setdefault("presets_dir", tmp_path / "presets")
    kw.setdefault("recordings_dir", tmp_path)
    return make_app(session, refresh_hz=0, **kw)


def settings(session):
    return session.scheduler.performer.voice.settings


def cc_123_sent(session) -> int:
    return sum(1 for _, m in session.port.snapshot() if m.type == "control_change" and m.control == 123)


async def test_knobs_reach_the_scheduler(session, tmp_path):
    app = app_for(session, tmp_path)  # starts on preset 1: 2 notes/s, temperature 0.8, lookahead 150
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(lambda: settings(session).notes_per_second == 2.0)
        app.set_focus(app.main.query_one("#notes_per_second"))
        await pilot.press("right", "right")  # +2 x 0.5
        assert await wait_until(lambda: settings(session).notes_per_second == 3.0)
        await pilot.press("home")
        assert await wait_until(lambda: settings(session).notes_per_second == 0.0)  # 0 = off
        app.set_focus(app.main.query_one("#temperature"))
        await pilot.press("pageup")  # +10 x 0.05
        assert await wait_until(lambda: settings(session).temperature == pytest.approx(1.3))
        app.set_focus(app.main.query_one("#velocity_scale"))
        await pilot.press("end")
        assert await wait_until(lambda: settings(session).velocity_scale == 4.0)
        app.set_focus(app.main.query_one("#lookahead_ms"))
        await pilot.press("left")
        assert await wait_until(lambda: session.scheduler.lookahead_steps == 14)
        app.set_focus(app.main.query_one("#call_silence_s"))
        await pilot.press("right")
        assert await wait_until(lambda: settings(session).call_silence_s == pytest.approx(0.9))


async def test_mouse_click_turns_a_knob_and_sets_a_fader(session, tmp_path):
    app = app_for(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#temperature", offset=(15, 0))  # the left end of the bar
        assert await wait_until(lambda: settings(session).temperature == pytest.approx(0.05))
        await pilot.click("#pitch", offset=(4 * 4 + 1, 0))  # top of the E column
        assert app.main.query_one("#pitch").levels[4] == 8
        assert await wait_until(lambda: settings(session).pitch_class_histogram[4] == 8.0)


async def test_scale_keys_faders_and_conditioning(session, tmp_path):
    app = app_for(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("B")  # blues on the current root C
        blues = tuple(float(v) for v in scale_levels("blues", "C"))
        assert await wait_until(lambda: settings(session).pitch_class_histogram == blues)
        await pilot.press("right_square_bracket")  # root up: C# blues
        up = tuple(float(v) for v in scale_levels("blues", "C#"))
        assert await wait_until(lambda: settings(session).pitch_class_histogram == up)
        faders = app.main.query_one("#pitch")
        app.set_focus(faders)
        await pilot.press("right", "right", "up")  # D gets louder: a custom scale
        assert await wait_until(lambda: settings(session).pitch_class_histogram[2] == up[2] + 1)
        assert app.state.scale == "custom"
        await pilot.press("c")
        assert await wait_until(lambda: settings(session).conditioning is False)
        await pilot.press("t")
        assert await wait_until(lambda: settings(session).thru is True)


async def test_mode_space_panic_record_and_quit(session, tmp_path):
    app = app_for(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        performer = session.scheduler.performer
        await pilot.press("m")
        assert await wait_until(lambda: performer.mode == "duet")
        await pilot.press("space")  # stop: the model falls silent but the clock keeps running
        assert await wait_until(lambda: performer.mode == "mute" and cc_123_sent(session) >= 16)
        await pilot.press("m")  # a mode chosen while stopped waits for start
        assert performer.mode == "mute"
        await pilot.press("space")
        assert await wait_until(lambda: performer.mode == "call")
        before = cc_123_sent(session)
        await pilot.press("p")
        assert await wait_until(lambda: cc_123_sent(session) >= before + 16)
        await pilot.press("m", "m")  # call -> mute -> solo: the scripted model plays on its own
        await pilot.pause(0.5)
        await pilot.press("r")
        assert app.bridge.recording
        await pilot.pause(0.5)
        await pilot.press("r")
        takes = list(tmp_path.glob("performance-rnn-live-*.mid"))
        assert not app.bridge.recording and len(takes) == 1
        model_track = mido.MidiFile(takes[0]).tracks[2]
        first = next(m for m in model_track if m.type == "note_on")
        assert mido.tick2second(first.time, 480, 500_000) < 0.4  # the take starts at the press, not at t0
        before = cc_123_sent(session)
        await pilot.press("q")
    assert cc_123_sent(session) >= before + 16  # quit panics first


async def test_presets_load_with_number_keys_and_save(session, tmp_path):
    app = app_for(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")  # Busy A blues: 12 notes/s, duet
        assert await wait_until(lambda: settings(session).notes_per_second == 12.0)
        assert await wait_until(lambda: session.scheduler.performer.mode == "duet")
        assert app.main.query_one("#velocity_scale").value == 1.2
        app.set_focus(app.main.query_one("#temperature"))
        await pilot.press("left")
        await pilot.press("s")
        await pilot.press(*"late night", "enter")
        saved = list((tmp_path / "presets").glob("*.toml"))
        assert [p.name for p in saved] == ["late-night.toml"]
        preset = load_preset(saved[0])
        assert preset.state.temperature == pytest.approx(0.95) and preset.state.scale == "blues"
        assert app.presets[-1].name == "late night"
        await pilot.press("1")
        assert await wait_until(lambda: settings(session).notes_per_second == 2.0)
        await pilot.press(str(len(app.presets)))  # the saved one is a number key too
        assert await wait_until(lambda: settings(session).temperature == pytest.approx(0.95))


class FakeInput:
    """An input port double: send() delivers to the callback from another thread, as rtmidi does."""

    def __init__(self, callback):
        self.callback = callback
        self.closed = False

    def send(self, msg):
        t = threading.Thread(target=self.callback, args=(msg,))
        t.start()
        t.join()

    def close(self):
        self.closed = True


async def test_midi_learn_maps_a_cc_and_keeps_it(session, tmp_path, monkeypatch):
    app = app_for(session, tmp_path)
    ports = []
    monkeypatch.setattr("live.session.open_inputs", lambda config, callback: ([ports.append(FakeInput(callback))
                                                                               or ports[-1]], config.input))
    async with app.run_test(size=SIZE) as pilot:
        app.bridge.use_input("fake keyboard")
        app.set_focus(app.main.query_one("#temperature"))
        await pilot.press("l")
        ports[0].send(mido.Message("control_change", channel=3, control=21, value=5))
        assert await wait_until(lambda: app.cc_map.bindings == {(3, 21): "temperature"})
        ports[0].send(mido.Message("control_change", channel=3, control=21, value=127))
        assert await wait_until(lambda: settings(session).temperature == 5.0)
        ports[0].send(mido.Message("note_on", note=60, velocity=90))  # notes still reach the scheduler
        await pilot.pause(0.05)
    assert (tmp_path / "midi_map.json").is_file()
    again = app_for(session, tmp_path)
    assert again.cc_map.bindings == {(3, 21): "temperature"}  # applied at start


async def test_help_lists_every_binding(session, tmp_path):
    app = app_for(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = {b.description for b in app.screen.bindings}
        assert {b.description for b in app.BINDINGS} == shown
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)


async def test_output_port_picker_swaps_the_port_live(session, tmp_path, monkeypatch):
    app = app_for(session, tmp_path)
    opened = []
    monkeypatch.setattr("live.session.open_output", lambda config: (opened.append(config.output) or object(),
                                                                    config.output))
    app.bridge.output_names = lambda: ["virtual: Performance RNN", "Synth A", "DAW in"]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await pilot.press("down", "enter")  # Synth A
        assert opened == ["Synth A"]
        assert await wait_until(lambda: session.scheduler.output.port is not None
                                and not isinstance(session.scheduler.output.port, type(session.port)))
        assert app.bridge.current_output == "Synth A"
        assert "Synth A" in str(app.main.query_one("#status").render())


def test_port_lists_leave_out_our_own_virtual_ports(session, monkeypatch):
    from live.session_api import SessionControl

    names = ["RtMidiIn Client:Performance RNN in", "RtMidiOut Client:Performance RNN", "Keystation:midi_out",
             "Synth:in"]
    monkeypatch.setattr(mido, "get_output_names", lambda: names)
    monkeypatch.setattr(mido, "get_input_names", lambda: names)
    bridge = SessionControl(session)
    assert bridge.output_names() == ["virtual: Performance RNN", "Keystation:midi_out", "Synth:in"]
    assert bridge.input_names() == ["virtual: Performance RNN in", "Keystation:midi_out", "Synth:in"]


async def test_reset_key_and_learn_any_control_by_name(session, tmp_path):
    app = app_for(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(lambda: session.scheduler.tick > 5)
        before = session.scheduler.stats.rollbacks
        await pilot.press("z")  # reset the model's context: pending output is replaced
        assert await wait_until(lambda: session.scheduler.stats.rollbacks > before)
        await pilot.press("L")
        items = app.screen.items
        await pilot.press(*["down"] * items.index("action:panic"), "enter")
        assert app.cc_map.learning == "action:panic"
        await pilot.press("escape")
        assert app.cc_map.learning is None
        await pilot.press("L")
        await pilot.press(*["down"] * items.index("action:panic"), "enter")
        app.post_message(PlayerControlChange(mido.Message("control_change", control=64, value=0)))
        await pilot.pause(0.05)
        assert app.cc_map.bindings == {(0, 64): "action:panic"}
        before = cc_123_sent(session)
        app.post_message(PlayerControlChange(mido.Message("control_change", control=64, value=127)))  # a press
        assert await wait_until(lambda: cc_123_sent(session) >= before + 16)


async def test_model_picker_shows_each_shipped_models_licence(session, tmp_path):
    from textual.widgets import OptionList

    from engine.bundle_info import SHIPPED_MODELS, read_bundle_metadata
    from live.tui.screens.pickers import PickScreen

    app = app_for(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.action_pick_model()
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
        labels = [str(o.prompt) for o in app.screen.query_one(OptionList).options]
        for name in SHIPPED_MODELS:
            licence = read_bundle_metadata(name)["license"].split(" (")[0]
            assert any(name in label and licence in label for label in labels), labels
        await pilot.press("escape")


async def test_without_knob_flags_the_panel_starts_in_the_first_presets_musical_state(tmp_path):
    from tests.tui.conftest import build_session

    presets = discover_presets([shipped_presets_dir()])
    session = build_session(mode="duet")  # what performance_rnn_live gets with no knob flags
    app = make_app(session, refresh_hz=0, presets=presets, cc_map_path=None, recordings_dir=tmp_path)
    assert app.state.notes_per_second == presets[0].state.notes_per_second > 0  # not "off"
    assert app.state.pitch_levels == presets[0].state.pitch_levels and app.state.mode == "duet"
    session.settings.notes_per_second = 7.0  # a knob flag wins
    assert make_app(session, refresh_hz=0, presets=presets, cc_map_path=None).state.notes_per_second == 7.0


async def test_a_sync_notice_shows_as_a_notification(session, tmp_path):
    from live.tui.messages import EngineStateChanged

    app = app_for(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.post_message(EngineStateChanged("notice", "sync: ignoring Stop without Start"))
        await pilot.pause()
        assert [n.message for n in app._notifications] == ["sync: ignoring Stop without Start"]


async def test_the_panel_starts_in_the_sessions_mode(tmp_path):
    from tests.tui.conftest import build_session

    session = build_session(mode="duet")  # --mode duet, no preset: the mode switch must not reset it to solo
    app = make_app(session, refresh_hz=0, presets=[], cc_map_path=None, recordings_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        assert settings(session).mode == "duet" and app.main.query_one("#mode").mode == "duet"


async def test_with_sync_on_the_panel_shows_it_and_turns_the_groove_quantize(tmp_path):
    from live.sync.timing import SyncConfig
    from tests.tui.conftest import build_session

    plain = make_app(build_session(), refresh_hz=0, presets=[], cc_map_path=None, recordings_dir=tmp_path)
    async with plain.run_test(size=SIZE):
        plain.refresh_view()
        assert not plain.main.query_one("#sync").display  # sync off: no line
    session = build_session(sync=SyncConfig(quantize=50.0, bpm=100.0))
    app = make_app(session, refresh_hz=0, presets=[], cc_map_path=None, recordings_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.refresh_view()
        line = str(app.main.query_one("#sync").render())
        assert app.main.query_one("#sync").display and "100.0 BPM" in line and "quantize 50 %" in line
        await pilot.press("right_curly_bracket", "greater_than_sign")
        assert await wait_until(lambda: session.sync.status().quantize == 60.0
                                and abs(session.sync.status().bpm - 101) < 1e-6)


async def test_the_panel_switches_whom_to_follow(tmp_path):
    from live.sync.timing import SyncConfig
    from tests.tui.conftest import build_session

    session = build_session()
    app = make_app(session, refresh_hz=0, presets=[], cc_map_path=None, recordings_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("vertical_line")
        assert await wait_until(lambda: session.sync.status().mode == "midi")
        app.refresh_view()
        line = str(app.main.query_one("#sync").render())
        assert app.main.query_one("#sync").display and "midi" in line and "waiting" in line
        await pilot.press("vertical_line")
        assert await wait_until(lambda: session.sync.status().mode == "link")
        await pilot.press("vertical_line")
        assert await wait_until(lambda: session.sync.status().mode == "off" and session.sync.timing.playing)
        app.refresh_view()
        assert not app.main.query_one("#sync").display
    leader = build_session(sync=SyncConfig(clock_out=True))
    app = make_app(leader, refresh_hz=0, presets=[], cc_map_path=None, recordings_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("vertical_line")
        await pilot.pause(0.2)
        assert leader.sync.status().mode == "off"  # we lead with our clock: following is refused, with a notice


async def test_a_learned_knob_takes_the_hardware_position_even_when_a_newer_cc_replaced_the_first(session, tmp_path):
    app = app_for(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.set_focus(app.main.query_one("#temperature"))
        await pilot.press("l")
        for value in (0, 127):  # posted together: the newer replaces the older in the queue
            app.post_message(PlayerControlChange(mido.Message("control_change", control=21, value=value)))
        assert await wait_until(lambda: settings(session).temperature == 5.0)
        assert app.cc_map.bindings == {(0, 21): "temperature"}


async def test_a_label_refresh_after_quit_is_harmless(session, tmp_path):
    """Timers (the clock-priority label, learning polls) can fire while the app closes."""
    app = app_for(session, tmp_path)
    async with app.run_test(size=SIZE):
        pass
    app.update_labels()
