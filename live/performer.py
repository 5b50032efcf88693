"""What the model does in each mode (solo, duet, call-and-response, mute), one model step at a time.

The performer never sleeps and never touches ports: the scheduler asks it for one step of work at a time
(`work`) and hands it the player's notes (`hear`). Anything it returns is [(absolute step, Message)]."""
from __future__ import annotations

import collections

from engine.events import MAX_SHIFT_STEPS, STEPS_PER_SECOND

from .commands import ResetModel, SetControl, SwapModel
from .settings import check

# Controls that change what the model samples: a change regenerates the pending lookahead.
VOICE_CONTROLS = ("notes_per_second", "temperature", "pitch_class_histogram", "conditioning", "count_player")

LISTENING, RESPONDING = "listening", "responding"


class Performer:
    """Mode logic around one Voice; its settings (the voice's live.settings.Settings) give the mode and the call
    timing. `now` is the scheduler's clock; `on_input_latency(seconds)` gets, for each player event, the time
    from its arrival to its being in the model's state."""

    def __init__(self, voice, now=None, on_input_latency=None, on_state=None):
        self.voice = voice
        self.mode = voice.settings.mode
        self.state = LISTENING
        self.now = now
        self.on_input_latency = on_input_latency
        self.on_state = on_state or (lambda state: None)
        self.feeds: collections.deque = collections.deque()  # (step, class id, decode?, arrival time)
        self.held: set[int] = set()
        self.call_start = self.last_activity = None
        self.response_end = 0
        self.last_refresh = 0
        self.catchups = 0  # silences inserted because the model was not ahead of the clock
        self.heard_tick = -1  # the last tick in which a player's note cut the lookahead back

    def start(self, step: int) -> None:
        self.voice.start(step)
        self.last_refresh = step

    # ---- the scheduler's entry points ---------------------------------------------------------------------

    def generating(self) -> bool:
        return self.mode in ("solo", "duet") or (self.mode == "call" and self.state == RESPONDING)

    def hear(self, msg, step: int, arrival: float, tick: int) -> tuple[bool, list]:
        """A player's note at `step`. Returns (pending output invalidated?, messages to add)."""
        is_on = msg.type == "note_on" and msg.velocity > 0
        if not is_on and msg.note not in self.held:
            return False, []  # a note-off for nothing we saw: no context, no activity
        restrike = is_on and msg.note in self.held
        (self.held.add if is_on else self.held.discard)(msg.note)
        self._track_call(is_on, step)
        if self.mode == "solo":
            return False, []
        invalidated, msgs = self._rollback(tick)
        self.heard_tick = tick
        if self.mode == "call" and self.state == RESPONDING and is_on:
            invalidated, msgs = self._stop_response(tick, invalidated, msgs)
        if restrike:
            self._queue_ids(step, [(self.voice.note_off_id(msg.note), False)], arrival)
        self._queue_ids(step, self.voice.player_ids(msg), arrival)
        return invalidated, msgs

    def on_tick(self, tick: int) -> tuple[bool, list]:
        """Time-based transitions: the end of a call, periodic refresh. Returns (invalidated, messages)."""
        self.voice.prune(tick)
        if self.mode == "call" and self.state == LISTENING and self._call_ended(tick):
            steps = self._response_steps()
            self.state, self.response_end, self.call_start = RESPONDING, tick + 1 + steps, None
            self.on_state(RESPONDING)
        refresh = self.settings.refresh_seconds
        if refresh and self.generating() and tick - self.last_refresh >= refresh * STEPS_PER_SECOND:
            return self._reset(tick)
        return False, []

    def work(self, tick: int, horizon: int):
        """At most one model step. Returns messages (maybe []), or None when there is nothing to do."""
        v = self.voice
        if self.feeds:
            return self._feed_next()
        if not self.generating():
            if tick - v.time >= MAX_SHIFT_STEPS:  # keep the heard silence in context, 1 s at a time
                return v.feed(v.shift_id(MAX_SHIFT_STEPS))
            return None
        if self.heard_tick == tick:
            # Rollbacks coalesce: the rest of a chord may still arrive in this tick, and anything generated
            # past it now would be cut back again, once per note. Generation resumes next tick.
            return None
        if v.time <= tick:  # just resumed, or the model fell behind: silence up to the next unsent step
            self.catchups += 1
            return v.feed(v.shift_id(tick + 1 - v.time))
        if v.time >= horizon:
            return None
        if self.state == RESPONDING and self.mode == "call" and v.time >= self.response_end:
            return self._finish_response()
        class_id = v.sample()
        shift = v.shift_steps(class_id)
        if self.mode == "call" and shift and v.time + shift > self.response_end:
            class_id = v.shift_id(self.response_end - v.time)  # end the answer exactly on time
        return v.feed(class_id)

    def apply(self, command, tick: int) -> tuple[bool, list]:
        """A sampling control (VOICE_CONTROLS, already stored in the settings), a model swap or a reset.
        Returns (invalidated, messages)."""
        if isinstance(command, SwapModel):
            return self._swap(command.voice, tick)
        if isinstance(command, ResetModel):
            return self._reset(tick)
        if not (isinstance(command, SetControl) and command.id in VOICE_CONTROLS):
            raise TypeError(f"performer cannot apply {command!r}")
        self.voice.update_controls()
        return self._rollback(tick)

    @property
    def settings(self):
        return self.voice.settings

    def refresh(self, tick: int) -> tuple[bool, list]:
        """Discard the pending lookahead (a new lookahead, a panic): regenerated from the present."""
        return self._rollback(tick)

    def set_mode(self, mode: str, tick: int) -> tuple[bool, list]:
        self.mode = check("mode", mode)
        invalidated, msgs = self._rollback(tick)
        if self.state == RESPONDING:
            self.state = LISTENING
            self.on_state(LISTENING)
            if not self.generating():
                return self._release(tick, True, msgs)
        if not self.generating():
            return self._release(tick, invalidated, msgs)
        return invalidated, msgs

    # ---- helpers ------------------------------------------------------------------------------------------

    def _rollback(self, tick: int) -> tuple[bool, list]:
        """Cut pending output back to the present. A listening model must then be silent again."""
        if not self.voice.rollback(tick):
            return False, []
        if self.generating():
            return True, []
        return self._release(tick, True, [])

    def _release(self, tick: int, invalidated: bool, msgs: list) -> tuple[bool, list]:
        released, heard = self.voice.release_all()
        self._queue_ids(self.voice.time, [(i, False) for i in heard], None)
        return invalidated or bool(released), msgs + released

    def _stop_response(self, tick, invalidated, msgs):
        self.state = LISTENING
        self.on_state(LISTENING)
        return self._release(tick, invalidated, msgs)

    def _finish_response(self) -> list:
        self.state = LISTENING
        self.on_state(LISTENING)
        released, heard = self.voice.release_all()
        self._queue_ids(self.voice.time, [(i, False) for i in heard], None)
        return released

    def _swap(self, voice, tick: int) -> tuple[bool, list]:
        self.voice.rollback(tick)
        released, _ = self.voice.release_all()
        self.feeds.clear()
        voice.settings = self.settings  # the knobs in force now, one object for the whole core
        voice.update_controls()
        self.voice = voice
        self.voice.start(tick + 1)
        self.last_refresh = tick
        return True, released

    def _reset(self, tick: int) -> tuple[bool, list]:
        self.voice.rollback(tick)
        released, _ = self.voice.release_all()
        self.feeds.clear()
        self.voice.reset_context()
        self.voice.start(tick + 1)
        self.last_refresh = tick
        return True, released

    def _queue_ids(self, step: int, ids, arrival) -> None:
        for class_id, decode in ids:
            self.feeds.append((step, class_id, decode, arrival))

    def _feed_next(self) -> list:
        v = self.voice
        step, class_id, decode, arrival = self.feeds[0]
        if v.time < step:  # the silence before the heard event, one chunk per model step
            return v.feed(v.shift_id(step - v.time))
        self.feeds.popleft()
        msgs = v.feed(class_id, decode)
        if arrival is not None and self.on_input_latency is not None and self.now is not None:
            self.on_input_latency(self.now() - arrival)
        return msgs

    def _track_call(self, is_on: bool, step: int) -> None:
        if is_on and self.call_start is None:
            self.call_start = step
        self.last_activity = step

    def _call_ended(self, tick: int) -> bool:
        silence = round(self.settings.call_silence_s * STEPS_PER_SECOND)
        return (self.call_start is not None and not self.held and not self.feeds
                and tick - self.last_activity >= silence)

    def _response_steps(self) -> int:
        if self.settings.answer_s:
            return max(1, round(self.settings.answer_s * STEPS_PER_SECOND))
        return min(max(self.last_activity - self.call_start, STEPS_PER_SECOND), 10 * STEPS_PER_SECOND)
