"""The clock thread: 10 ms ticks on absolute deadlines, a heap of due MIDI messages, model work in the slack.

Each pass: send what is due, apply queued commands (player notes first hit the port as MIDI thru), then let
the performer take model steps until the lookahead is full or the next deadline nears, then sleep. Sending
never waits for the model: a model step only starts if its (pessimistic) duration fits before the deadline."""
from __future__ import annotations

import gc
import heapq
import itertools
import traceback
from dataclasses import dataclass

import mido

from .commands import CommandQueue, Panic, PlayerMessage, ReplaceOutput, SetControl, Stop, SwapModel
from .performer import VOICE_CONTROLS
from .stats import Stats
from .midi_output import CHANNEL_TYPES, MidiOutput, is_note_off, is_note_on
from .programs import PROGRAM_CONTROLS, program_messages
from .sync.timing import SYNC_COMMANDS

# A model step is only started if this (pessimistic, decaying) estimate fits before the next deadline. The cap
# keeps one freak step (page faults, a preempted thread) from blocking all model work until it decays.
MAX_STEP_ESTIMATE = 0.004
ESTIMATE_DECAY = 0.97  # per tick
GC_THRESHOLDS = gc.get_threshold()  # Python's own: allocations (gen 0), then collections of the younger gen
GC_SLACK = 0.003  # s: collect only with this much time before the next deadline (a young collection: ~0.1 ms)


@dataclass
class SchedulerConfig:
    """The clock's own timing; the knobs it reads (lookahead, thru, velocity, note cap) are live.settings."""

    step_seconds: float = 0.010
    margin_seconds: float = 0.001  # stop model work this long before the next deadline
    late_seconds: float = 0.001  # a tick that wakes later than this counts as late
    max_steps_per_tick: int = 64  # bounded work per tick, whatever the clock says
    duration_seconds: float | None = None  # stop by itself after this long
    stats_every_seconds: float = 0.5
    collect_garbage: bool = False  # the session disabled automatic collection: collect here, in the slack


# ---- events for the UI (posted through a non-blocking callback) ----------------------------------------------

@dataclass(frozen=True)
class NoteSent:
    """A message that went out (part 'model' or 'player' thru), or a player's note heard (part 'input')."""
    seconds: float
    part: str
    message: object


@dataclass(frozen=True)
class StateChanged:
    """Mode or call-and-response state, e.g. ('mode', 'duet') or ('call', 'responding')."""
    key: str
    value: str


@dataclass(frozen=True)
class StatsReport:
    """Counters since start, and the worst lateness (s) in the last window."""
    seconds: float
    ticks: int
    late_ticks: int
    window_max_lateness: float
    step_estimate: float
    pending: int
    rollbacks: int
    catchups: int


@dataclass(frozen=True)
class EngineError:
    text: str


class Scheduler:
    def __init__(self, performer, output: MidiOutput, commands: CommandQueue, clock,
                 config: SchedulerConfig | None = None, on_event=None, recorder=None, timing=None):
        self.performer = performer
        self.output = output
        self.commands = commands
        self.clock = clock
        self.config = config or SchedulerConfig()
        self.on_event = on_event
        self.recorder = recorder
        self.timing = timing  # live.sync.Timing: grid, transport and clock out; due steps become fractional
        self.stats = Stats()
        self.heap: list = []
        self.thru_sounding: set = set()  # (channel, note) the player sounds through MIDI thru
        self.model_on: dict = {}  # (channel, note) -> when the model's note went out, oldest first
        self.notes_capped = 0
        self._order = itertools.count()
        self.lookahead_steps = self._lookahead_steps()
        self.step_estimate = 0.002
        self.t0 = 0.0
        self.tick = -1
        self.error: BaseException | None = None
        self._stopping = False
        self._next_report = 0
        performer.on_input_latency = self.stats.input_latency.append
        performer.now = clock.now
        performer.on_state = lambda state: self._emit(StateChanged("call", state))

    # ---- the loop ----------------------------------------------------------------------------------------

    def run(self) -> None:
        """Run until Stop (or the duration); always ends with a panic. An exception is kept in .error."""
        self.t0 = self.clock.now()
        if self.timing is not None:
            self.timing.begin(self.t0)
        self.performer.start(0)
        self._emit(StateChanged("mode", self.performer.mode))
        self._send_programs()  # before any note, so the synth (built-in or not) plays the chosen instruments
        try:
            while not self._stopping:
                self._pass()
        except Exception as err:  # the clock must not die with notes sounding: panic, report, stop
            self.error = err
            self._emit(EngineError(f"scheduler stopped: {err!r}\n{traceback.format_exc()}"))
        finally:
            self._shutdown()

    @property
    def settings(self):
        """The knobs in force (live.settings.Settings), one object shared with the performer and its voice."""
        return self.performer.voice.settings

    def _lookahead_steps(self) -> int:
        return round(self.settings.lookahead_ms / 1000 / self.config.step_seconds)

    def step_at(self, t: float) -> int:
        # The epsilon (10 ns): a wake-up exactly on a deadline must land in that step despite float rounding.
        return int((t - self.t0) / self.config.step_seconds + 1e-6)

    def deadline(self, step: int) -> float:
        return self.t0 + step * self.config.step_seconds

    def _pass(self) -> None:
        now = self.clock.now()
        tick = self.step_at(now)
        new_tick = tick > self.tick
        if new_tick:
            self._new_tick(tick, now)
        self._dispatch(tick)
        if self.model_on:
            self._cap_notes()
        if new_tick:  # after the dispatch: a rollback must never discard what is due now
            self._apply(*self.performer.on_tick(tick), tick)
        self._apply_commands(tick)
        if self._stopping:
            return
        self._work(tick)
        if not self.commands.wake.is_set():
            self.clock.wait_until(self._next_due(tick), self.commands.wake)

    def _next_due(self, tick: int) -> float:
        """The next tick, or sooner a message between ticks (a quantized note, a clock-out tick)."""
        if self.timing is None:
            return self.deadline(tick + 1)
        due = min(self.deadline(self.heap[0][0]), self.deadline(tick + 1)) if self.heap else self.deadline(tick + 1)
        return min(due, self.timing.next_time())

    def _new_tick(self, tick: int, now: float) -> None:
        wake_late = now - self.deadline(tick)
        self.stats.wake_lateness.append(wake_late)
        self.stats.ticks += tick - max(self.tick, 0)
        skipped = self.tick >= 0 and tick > self.tick + 1
        if wake_late > self.config.late_seconds or skipped:
            self.stats.late_ticks += 1
        if skipped:  # the clock thread itself was held up for whole ticks (not just woken late)
            self.stats.stall_at.append(tick)
            self.stats.stall_ticks.append(tick - self.tick - 1)
        self.tick = tick
        self.step_estimate = max(self.step_estimate * ESTIMATE_DECAY, 0.0002)
        duration = self.config.duration_seconds
        if duration is not None and tick * self.config.step_seconds >= duration:
            self._stopping = True
        if tick >= self._next_report:
            self._report(tick)
        if self.timing is not None:
            self.timing.poll(now)

    def _dispatch(self, tick: int) -> None:
        heap = self.heap
        if self.timing is not None:
            now = self.clock.now()
            for m in self.timing.take_due(now):
                self.output.send(m)
            tick = (now - self.t0) / self.config.step_seconds + 1e-6  # quantized notes fall between ticks
        while heap and heap[0][0] <= tick:
            due, _, msg = heapq.heappop(heap)
            msg = self._shape_velocity(msg)
            sent_at = self.clock.now()
            for m in self.output.send(msg):
                self._record("model", sent_at, m)
                self._track_model(m, sent_at)
            late = sent_at - self.deadline(due)
            self.stats.lateness.append(late)
            self.stats.sent_at.append(sent_at - self.t0)
            self.stats.window_max = max(self.stats.window_max, late)

    def _track_model(self, msg, sent_at: float) -> None:
        key = (msg.channel, getattr(msg, "note", None))
        if is_note_on(msg) or is_note_off(msg):
            self.model_on.pop(key, None)  # a re-strike moves the key to the end: the dict stays oldest first
        if is_note_on(msg):
            self.model_on[key] = sent_at

    def _cap_notes(self) -> None:
        """The note length cap as a wall-clock guarantee. The decoder cuts long notes on the model's step
        grid, but what reaches the port can run longer (measured: 9.5 s under input storms); this ends any
        model note at the port once it has sounded max_note_seconds, whatever the model does."""
        limit = self.clock.now() - self.settings.max_note_seconds + 1e-6  # float rounding: a note due now ends now
        while self.model_on:
            key, started = next(iter(self.model_on.items()))
            if started > limit:
                return
            del self.model_on[key]
            sent_at = self.clock.now()
            for m in self.output.send(mido.Message("note_off", channel=key[0], note=key[1])):
                self._record("model", sent_at, m)
                self.notes_capped += 1

    def _work(self, tick: int) -> None:
        horizon = tick + 1 + self.lookahead_steps
        stop_at = self._next_due(tick) - self.config.margin_seconds
        now = self.clock.now
        for _ in range(self.config.max_steps_per_tick):
            limit = self._feed_limit(tick, stop_at) if self.performer.feeds else stop_at
            if self.commands.wake.is_set() or now() + self.step_estimate > limit:
                return
            started = now()
            msgs = self.performer.work(tick, horizon)
            if msgs is None:
                self._collect_garbage(stop_at)
                return
            self._push(msgs, tick)
            spent = now() - started
            self.stats.step_seconds.append(spent)
            self.step_estimate = min(max(spent * 1.5, self.step_estimate), MAX_STEP_ESTIMATE)

    def _collect_garbage(self, stop_at: float) -> None:
        """Python's collector, run where it cannot delay a note: here, when the model is idle and the next
        deadline is far enough, instead of inside whichever allocation happens to cross a threshold."""
        if not self.config.collect_garbage or self.clock.now() + GC_SLACK > stop_at:
            return
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > GC_THRESHOLDS[generation]:
                gc.collect(generation)
                return

    def _feed_limit(self, tick: int, stop_at: float) -> float:
        """Hearing the player must not wait for the next tick's slack: a step that feeds the player's notes
        may run on while nothing is due (a rollback has just emptied the heap), up to one more period."""
        next_due = self.deadline(self.heap[0][0]) if self.heap else float("inf")
        return max(stop_at, min(next_due, self.deadline(tick + 2)) - self.config.margin_seconds)

    # ---- commands ------------------------------------------------------------------------------------------

    def _apply_commands(self, tick: int) -> None:
        for cmd in self.commands.drain():
            if isinstance(cmd, PlayerMessage):
                self._player(cmd, tick)
            elif isinstance(cmd, SetControl):
                self._set_control(cmd, tick)
            elif isinstance(cmd, Panic):
                self._panic(tick)
            elif isinstance(cmd, ReplaceOutput):
                for m in self.output.panic():
                    self._record("model", self.clock.now(), m)
                self.output.replace(cmd.port)
                self._send_programs()  # a new port (a synth just picked) gets the instruments too
                self._emit(StateChanged("output", cmd.reason or ("lost" if cmd.port is None else "connected")))
            elif isinstance(cmd, Stop):
                self._stopping = True
            elif self.timing is not None and isinstance(cmd, SYNC_COMMANDS):
                self._sync(cmd, tick)
            else:
                self._apply(*self.performer.apply(cmd, tick), tick)
                if isinstance(cmd, SwapModel):
                    self._emit(StateChanged("model", cmd.name))

    def _set_control(self, cmd: SetControl, tick: int) -> None:
        """Store the value (the one place a setting changes), then let the part that holds on to it react."""
        setattr(self.settings, cmd.id, cmd.value)
        if cmd.id == "mode":
            self._apply(*self.performer.set_mode(cmd.value, tick), tick)
            self._emit(StateChanged("mode", cmd.value))
        elif cmd.id == "lookahead_ms":
            self.lookahead_steps = self._lookahead_steps()
            self._apply(*self.performer.refresh(tick), tick)
        elif cmd.id in VOICE_CONTROLS:
            self._apply(*self.performer.apply(cmd, tick), tick)
        elif cmd.id in PROGRAM_CONTROLS:
            self._send_programs()

    def _send_programs(self) -> None:
        for part, msg in program_messages(self.settings):
            for m in self.output.send(msg):
                self._record(part, self.clock.now(), m)  # a take replays with the instruments heard

    def _player(self, cmd: PlayerMessage, tick: int) -> None:
        msg = cmd.message
        if msg.type not in CHANNEL_TYPES:
            return  # sysex, clock, song position...: not ours to play or hear
        self._emit(NoteSent(cmd.time - self.t0, "input", msg))
        self._record("player", cmd.time, msg)
        key = (msg.channel, getattr(msg, "note", None))
        # With thru just turned off, a note it let through still gets its note-off (and only such a note:
        # the model may be sounding the same pitch on the same channel).
        if self.settings.thru or (is_note_off(msg) and key in self.thru_sounding):
            if is_note_on(msg):
                self.thru_sounding.add(key)
            elif is_note_off(msg):
                self.thru_sounding.discard(key)
            for m in self.output.send(msg):
                self.model_on.pop((m.channel, getattr(m, "note", None)), None)  # the key is the player's now
                self._emit(NoteSent(self.clock.now() - self.t0, "player", m))
        if msg.type in ("note_on", "note_off"):
            step = min(tick, max(0, self.step_at(cmd.time)))
            self._apply(*self.performer.hear(msg, step, cmd.time, tick), tick)

    def _apply(self, invalidated: bool, msgs: list, tick: int) -> None:
        if invalidated:
            self.heap.clear()  # everything pending came after the rollback point: it is replaced
            self.stats.rollbacks += 1
        self._push(msgs, tick)

    def _sync(self, cmd, tick: int) -> None:
        action = self.timing.apply(cmd, self.clock.now())
        if action == "panic":
            self._panic(tick)
        elif action == "refresh":
            self._apply(*self.performer.refresh(tick), tick)
        self._emit(StateChanged("sync", "playing" if self.timing.playing else "stopped"))

    def _push(self, msgs, tick: int) -> None:
        # Never schedule into the past: a step already sent goes out with the next one.
        msgs = self._place(msgs, tick) if self.timing is not None else ((max(s, tick + 1), m) for s, m in msgs)
        for step, msg in msgs:
            heapq.heappush(self.heap, (step, next(self._order), msg))

    def _place(self, msgs, tick: int) -> list:
        step_s, now, out = self.config.step_seconds, self.clock.now(), []
        for step, msg in msgs:
            due = self.timing.place(self.deadline(max(step, tick + 1)), msg, now)
            if due is not None:
                out.append(((due - self.t0) / step_s, msg))
        return out

    def _panic(self, tick: int) -> None:
        self.performer.refresh(tick)
        self.performer.voice.release_all()  # the model's notes end here; the port panic below sends the offs
        self.heap.clear()
        for m in self.output.panic():
            self._record("model", self.clock.now(), m)

    def _shutdown(self) -> None:
        self.heap.clear()
        for m in self.timing.finish() if self.timing is not None else ():
            self.output.send(m)
        sent_at = self.clock.now()
        for m in self.output.panic():
            self._record("model", sent_at, m)
        self._report(self.tick)

    # ---- output shaping and reporting ----------------------------------------------------------------------

    def _shape_velocity(self, msg):
        c = self.settings
        if is_note_on(msg) and (c.velocity_scale != 1.0 or c.velocity_offset):
            return msg.copy(velocity=int(min(127, max(1, round(msg.velocity * c.velocity_scale + c.velocity_offset)))))
        return msg

    def _record(self, part: str, at: float, msg) -> None:
        if self.recorder is not None:
            self.recorder.add(part, at - self.t0, msg)
        if part == "model" and msg.type in ("note_on", "note_off"):
            self._emit(NoteSent(at - self.t0, part, msg))

    def _report(self, tick: int) -> None:
        s = self.stats
        self._emit(StatsReport(tick * self.config.step_seconds, s.ticks, s.late_ticks, s.window_max,
                               self.step_estimate, len(self.heap), s.rollbacks, self.performer.catchups))
        s.window_max = 0.0
        self._next_report = tick + round(self.config.stats_every_seconds / self.config.step_seconds)

    def _emit(self, event) -> None:
        if self.on_event is not None:
            self.on_event(event)
