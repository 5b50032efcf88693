"""The computer keyboard as a piano: key map and note lengths (unit), and through the panel to the model (pilot)."""
import math

import mido
from hypothesis import given
from hypothesis import strategies as st

from live.tui.computer_keys import KEY_OFFSETS, NOTE_SECONDS, REPEAT_SECONDS, ComputerPiano
from live.tui.keyboard_play import player_channel
from live.tui.widgets.knob import Toggle
from live.tui.widgets.piano_roll import KeyboardStrip
from tests.tui.conftest import wait_until
from tests.tui.test_app import SIZE, app_for


def notes(messages):
    return [(m.type, m.note) for m in messages]


def test_the_home_row_is_a_piano_from_c4_and_z_x_move_octaves():
    piano = ComputerPiano()
    assert [piano.base + KEY_OFFSETS[k] for k in "awsedftgyhujk"] == list(range(60, 73))
    assert notes(piano.press("a", 0.0)) == [("note_on", 60)]
    piano.press("z", 0.0)
    assert notes(piano.press("k", 0.0)) == [("note_off", 60), ("note_on", 60)]  # upper C an octave down: struck again
    for _ in range(20):
        piano.press("x", 0.0)
    assert piano.octave == 8 and notes(piano.press("semicolon", 0.0)) == [("note_on", 124)]
    assert piano.press("q", 0.0) == []  # not a piano key


def test_velocity_keys_step_and_clamp():
    piano = ComputerPiano(velocity=100)
    piano.press("v", 0.0)
    piano.press("v", 0.0)
    assert piano.press("a", 0.0)[0].velocity == 127
    for _ in range(10):
        piano.press("c", 0.0)
    assert piano.press("s", 0.0)[0].velocity == 20


def test_a_tap_ends_after_the_fixed_length():
    piano = ComputerPiano(channel=1)
    piano.press("d", 10.0)
    assert piano.next_due() == 10.0 + NOTE_SECONDS
    assert piano.due(10.0 + NOTE_SECONDS - 0.01) == []
    off = piano.due(10.0 + NOTE_SECONDS)
    assert notes(off) == [("note_off", 64)] and off[0].channel == 1
    assert piano.next_due() is None and piano.sounding == {}


def test_auto_repeat_holds_the_note_and_a_second_tap_strikes_again():
    piano = ComputerPiano()
    piano.press("a", 0.0)
    for i in range(1, 20):  # the terminal repeats a held key every 30 ms
        assert piano.press("a", i * 0.03) == []
    assert piano.next_due() == 19 * 0.03 + NOTE_SECONDS
    later = 19 * 0.03 + REPEAT_SECONDS + 0.05  # a new tap while it still sounds: off, then on
    assert notes(piano.press("a", later)) == [("note_off", 60), ("note_on", 60)]


def test_mouse_notes_last_until_release_and_release_all_ends_everything():
    piano = ComputerPiano()
    piano.strike(50, 0.0)
    piano.press("a", 0.0)
    assert piano.sounding[50].off_at == math.inf
    assert notes(piano.due(100.0)) == [("note_off", 60)]
    assert notes(piano.release(50)) == [("note_off", 50)] and piano.release(50) == []
    piano.press("a", 200.0)
    piano.strike(50, 200.0)
    assert sorted(notes(piano.release_all())) == [("note_off", 50), ("note_off", 60)]


@given(st.lists(st.tuples(st.sampled_from([*KEY_OFFSETS, "z", "x", "c", "v"]), st.floats(0, 0.5)), max_size=60))
def test_every_note_on_gets_exactly_one_note_off(presses):
    piano, now, on = ComputerPiano(), 0.0, {}
    for key, gap in presses:
        now += gap
        for m in piano.due(now) + piano.press(key, now):
            on[m.note] = on.get(m.note, 0) + (1 if m.type == "note_on" else -1)
            assert on[m.note] in (0, 1)
    for m in piano.due(math.inf):
        on[m.note] -= 1
    assert set(on.values()) <= {0}


def test_the_player_channel_is_never_the_models():
    assert all(player_channel(c) != c for c in range(16))


def heard(session):
    """Note messages the scheduler took in as player input (the recorded player track)."""
    return [(m.type, m.note) for part, _, m in session.scheduler.recorder.events
            if part == "player" and m.type in ("note_on", "note_off")]


async def test_piano_keys_reach_the_model_as_player_input_and_letters_lose_their_bindings(session, tmp_path):
    app = app_for(session, tmp_path, state=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")  # a take records the player track: what the scheduler heard
        mode = app.state.mode
        await pilot.press("grave_accent")
        assert app.piano.on and "piano" in str(app.main.query_one("#status").render())
        assert app.main.query_one("#thru", Toggle).value  # turned on, so the keys are heard
        await pilot.press("a", "m", "x", "k")  # m does not change the mode; x moves up an octave
        assert app.state.mode == mode
        assert await wait_until(lambda: ("note_on", 84) in heard(session))
        assert await wait_until(lambda: heard(session).count(("note_off", 60)) == 1)  # ended by the timer
        await pilot.press("question_mark", "q")  # a dialog on top gets its letters: q closes the help
        assert app.screen is app.main and app.piano.on
        await pilot.press("grave_accent")
        assert not app.piano.on
        await pilot.press("m")  # its usual binding again
        assert app.state.mode != mode
        assert await wait_until(lambda: ("note_off", 84) in heard(session))
        on = [m for p, _, m in session.scheduler.recorder.events if p == "player" and m.type == "note_on"]
        assert {m.channel for m in on} == {1}


async def test_clicking_the_keyboard_strip_plays_a_note_until_the_button_is_released(session, tmp_path):
    app = app_for(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        strip = app.main.query_one(KeyboardStrip)
        await pilot.mouse_down(strip, offset=(24, 0))  # 36 + 24 = C4
        assert await wait_until(lambda: heard(session) == [("note_on", 60)])
        await pilot.pause(0.5)  # longer than a tap: still held
        assert heard(session) == [("note_on", 60)]
        await pilot.mouse_up(strip, offset=(24, 0))
        assert await wait_until(lambda: heard(session) == [("note_on", 60), ("note_off", 60)])


def test_piano_messages_are_plain_mido_note_messages():
    msg = ComputerPiano().press("a", 0.0)[0]
    assert isinstance(msg, mido.Message) and msg.bytes()[0] == 0x91
