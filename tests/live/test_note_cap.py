"""The note length cap is enforced at the port, on the wall clock, whatever the model does."""
import dataclasses

from engine.events import NOTE_ON, TIME_SHIFT, Event
from engine.steering import OFF
from live.commands import SetControl
from tests.live.fakes import Rig, ScriptStepper, note


class HoldingStepper(ScriptStepper):
    """Strikes a note and then only lets time pass: nothing but a cap ever ends it."""

    def _next(self, state, event):
        if event.kind in (TIME_SHIFT, NOTE_ON) and state.sounding is not None:
            return self.vocab.encode(Event(TIME_SHIFT, 100))
        return super()._next(state, event)


def unsteered(rig):
    """Without the voice's sampling-time release guard: the model alone would hold the note for ever."""
    rig.voice.steering = dataclasses.replace(rig.voice.steering, config=OFF)
    return rig


def lengths(sent, channel=0):
    started, out = {}, []
    for t, m in sent:
        if m.type in ("note_on", "note_off") and m.channel == channel:
            if m.type == "note_on" and m.velocity:
                started[m.note] = t
            elif m.note in started:
                out.append(round(t - started.pop(m.note), 6))
    return out


def test_a_note_the_model_never_ends_is_ended_at_the_cap():
    # The decoder takes its cut (60 s) when the voice starts; the setting then drops to 5 s, which only the
    # scheduler's wall-clock guard applies at once: so only it can end the note.
    rig = unsteered(Rig(stepper=HoldingStepper(), duration=12, max_note_seconds=60))
    rig.command(0.0, SetControl("max_note_seconds", 5.0))
    rig.run()
    assert lengths(rig.port.sent)[0] == 5.0
    assert rig.scheduler.notes_capped == 1


def test_the_cap_leaves_player_notes_alone_and_restarts_on_a_restrike():
    rig = unsteered(Rig(stepper=HoldingStepper(), duration=9, thru=True, max_note_seconds=60))
    rig.command(0.0, SetControl("max_note_seconds", 5.0))
    rig.play(0.5, note("note_on", 40, channel=3))  # the player holds a note through thru: not ours to cut
    rig.run()
    assert lengths(rig.port.sent, channel=3) == [8.5]  # ended by the final panic only
    assert lengths(rig.port.sent)[0] == 5.0


def test_a_cap_longer_than_the_take_cuts_nothing():
    rig = unsteered(Rig(stepper=HoldingStepper(), duration=7, max_note_seconds=60))
    rig.run()
    assert lengths(rig.port.sent) == [7.0 - 0.01] and rig.scheduler.notes_capped == 0
