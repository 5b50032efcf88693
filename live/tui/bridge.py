"""Bridge: everything the panel asks of the live engine, in one place, driven only through public parts.

Knob changes go out as commands on the session's CommandQueue (the only way into the scheduler). Engine
news comes back through the EngineSink installed as the scheduler's on_event. A session supplies at least
`commands` and `scheduler`; start/stop, ports and models use the session's own methods when it has them."""
from __future__ import annotations

import copy
import datetime
import threading
import time
from pathlib import Path

import mido
import numpy as np

from engine.errors import ConfigError
from live import commands as live_commands
from live.commands import Panic, PlayerMessage, ReplaceOutput, ResetModel, SetMode, SetVelocity, Stop, SwapModel
from live.recorder import Recorder
from live.tui.widgets.meters import PendingEvent
from live.user_config import list_bundles, resolve_model

VIRTUAL_OUTPUT = "virtual: Performance RNN"
VIRTUAL_INPUT = "virtual: Performance RNN in"


class Bridge:
    """The panel's view of a session. `running` means the model plays (the clock thread runs regardless)."""

    def __init__(self, session, recordings_dir: Path | None = None):
        self.session = session
        self.commands = session.commands
        self.scheduler = session.scheduler
        self.sink = None
        self.running = False
        self.recording = getattr(self.scheduler, "recorder", None) is not None
        self._recorder: Recorder | None = None
        self._thread: threading.Thread | None = None
        self._mode = getattr(self.scheduler.performer, "mode", "solo")
        self.recordings_dir = recordings_dir or Path.cwd()
        self.current_input = getattr(session, "input_name", None)
        self.current_output = getattr(session, "output_name", None)
        self._input_port = None
        self._closed = False
        self.thru = bool(getattr(self.scheduler.config, "thru", False))  # the session's --thru
        self.open_input, self.open_output = mido.open_input, mido.open_output  # injectable for tests

    # ---- clock and sink ---------------------------------------------------------------------------------

    def install_sink(self, sink) -> None:
        """Route the scheduler's events, the player's CCs and the session's reports into the app."""
        self.sink = sink
        self.scheduler.on_event = sink
        if hasattr(self.session, "on_player_message"):
            self.session.on_player_message = sink.player_message
        if hasattr(self.session, "report"):  # a session prints to stderr, which would tear the screen
            self.session.report = sink.report
            watcher = getattr(self.session, "watcher", None)
            if watcher is not None:
                watcher.report = sink.report

    def start_clock(self) -> None:
        if self._thread is None and not getattr(self.session, "clock_running", False):
            start = getattr(self.session, "start", None)
            if start is not None:
                start()
            else:
                self._thread = threading.Thread(target=self.scheduler.run, name="scheduler", daemon=True)
                self._thread.start()

    def stop_clock(self) -> list[str]:
        """Panic, stop the clock, close ports, save recordings; once. Returns the recordings' paths."""
        if self._closed:
            return []
        self._closed = True
        saved = []
        stop = getattr(self.session, "stop", None)
        if stop is not None:
            saved.append(stop())  # the session's own --record file, if any
        elif self._thread is not None:
            self.commands.put(Stop())
            self._thread.join(timeout=2.0)
            self._thread = None
        self._close_input()
        saved.append(self._finish_recording())
        return [str(p) for p in saved if p]

    def start(self) -> None:
        """Let the model play: start the clock if needed and restore the chosen mode."""
        self.start_clock()
        self.running = True
        self.commands.put(SetMode(self._mode))

    def stop(self) -> None:
        """Silence the model without stopping the clock: it keeps listening, and meters keep running."""
        if self.running:
            self.running = False
            self.commands.put(SetMode("mute"))
            self.commands.put(Panic())

    def now(self) -> float:
        """Scheduler seconds since its clock started (0 before)."""
        s = self.scheduler
        return max(0.0, s.clock.now() - s.t0) if s.tick >= 0 else 0.0

    # ---- commands ------------------------------------------------------------------------------------------

    def send(self, command) -> None:
        if isinstance(command, SetVelocity) and command.offset == 0:
            # The panel has no offset knob: keep the one the session started with (--velocity_offset).
            command = SetVelocity(command.scale, self.scheduler.config.velocity_offset)
        if isinstance(command, SetMode):
            self._mode = command.mode
            if not self.running:
                return  # stopped: remembered and sent on start
        self.commands.put(command)

    def panic(self) -> None:
        self.commands.put(Panic())

    def reset_model(self) -> None:
        self.commands.put(ResetModel())

    def set_call(self, silence_seconds: float, answer_seconds: float) -> None:
        """Call-and-response timing (answer 0: as long as the call). Sent as live.commands.SetCallTiming
        when the engine has that command; until then two float stores into the performer's ModeConfig,
        which the clock thread only reads (each store is atomic under the GIL)."""
        answer = float(answer_seconds) if answer_seconds > 0 else None
        command = getattr(live_commands, "SetCallTiming", None)
        if command is not None:
            self.commands.put(command(float(silence_seconds), answer))
            return
        config = self.scheduler.performer.config
        config.call_silence_seconds = float(silence_seconds)
        config.response_seconds = answer

    def pending(self, now: float, limit: int = 6) -> list[PendingEvent]:
        """The next note messages in the scheduler's heap. list(heap) copies atomically under the GIL; the
        tuples and messages in it are never mutated, so this read cannot disturb the clock thread."""
        heap = sorted(list(self.scheduler.heap), key=lambda item: item[:2])
        step = self.scheduler.config.step_seconds
        out = []
        for due, _, msg in heap:
            if msg.type in ("note_on", "note_off"):
                kind = "note_on" if msg.type == "note_on" and msg.velocity > 0 else "note_off"
                out.append(PendingEvent(max(0.0, (due * step - now) * 1000), kind, msg.note, msg.velocity))
                if len(out) >= limit:
                    break
        return out

    # ---- recording -----------------------------------------------------------------------------------------

    def toggle_recording(self) -> str:
        """With a session recorder (--record PATH): pause/resume it (the session saves it on exit).
        Without: start a new take in recordings_dir, and save it when recording stops."""
        fixed = getattr(self.session, "recorder", None)
        if fixed is not None:
            self.recording = self.scheduler.recorder is None
            self.scheduler.recorder = fixed if self.recording else None  # one atomic attribute store
            return f"recording {'resumed' if self.recording else 'paused'} (saved to {fixed.path} on exit)"
        if self._recorder is None:
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            self._recorder = TakeRecorder(self.recordings_dir / f"performance-rnn-live-{stamp}.mid", self.now())
            self.scheduler.recorder = self._recorder
            self.recording = True
            return f"recording to {self._recorder.path}"
        return f"saved recording {self._finish_recording()}"

    def _finish_recording(self):
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return None
        self.recording = False
        if self.scheduler.recorder is recorder:
            self.scheduler.recorder = None
        time.sleep(0.02)  # let an add() the clock thread began before the swap finish
        return recorder.save()

    # ---- ports ---------------------------------------------------------------------------------------------

    def input_names(self) -> list[str]:
        return [VIRTUAL_INPUT] + [n for n in _names(mido.get_input_names) if not self._own(n)]

    def output_names(self) -> list[str]:
        return [VIRTUAL_OUTPUT] + [n for n in _names(mido.get_output_names) if not self._own(n)]

    def _own(self, name: str) -> bool:
        """Our own virtual ports show up in the lists too; picking one would feed the model to itself."""
        ports = getattr(getattr(self.session, "config", None), "ports", None)
        own = getattr(ports, "virtual_name", VIRTUAL_OUTPUT.split(": ", 1)[1])
        port = name.split(":")[-1].strip()
        return port in (own, f"{own} in")

    def use_output(self, name: str) -> None:
        if hasattr(self.session, "use_output"):
            self.session.use_output(None if name == VIRTUAL_OUTPUT else name)
        else:
            virtual = name == VIRTUAL_OUTPUT
            port = self.open_output(name.split(": ", 1)[1] if virtual else name, virtual=virtual)
            self.commands.put(ReplaceOutput(port, f"now {name}"))
        self.current_output = name

    def use_input(self, name: str) -> None:
        if hasattr(self.session, "use_input"):
            self.session.use_input(None if name == VIRTUAL_INPUT else name)
        else:
            self._close_input()
            virtual = name == VIRTUAL_INPUT
            self._input_port = self.open_input(name.split(": ", 1)[1] if virtual else name, virtual=virtual,
                                               callback=self.player_message)
        self.current_input = name

    def player_message(self, msg) -> None:
        """An input callback: into the scheduler's queue, and CCs to the panel (MIDI learn)."""
        self.commands.put(PlayerMessage(msg, self.scheduler.clock.now()))
        if self.sink is not None:
            self.sink.player_message(msg)

    def _close_input(self) -> None:
        port, self._input_port = self._input_port, None
        if port is not None:
            port.close()

    # ---- models --------------------------------------------------------------------------------------------

    def model_names(self) -> list[str]:
        return list(list_bundles())

    def swap_model(self, name: str) -> None:
        """Blocking (run it in a worker): load the bundle, build a primed voice, hand it over by command."""
        path = resolve_model(name)
        if path is None:
            raise ConfigError(f"unknown model {name!r}; available: {', '.join(self.model_names()) or 'none'} "
                              f"(put bundles in a models folder or give a path)")
        if hasattr(self.session, "swap_model"):
            self.session.swap_model(str(path), name).join()  # it reports its own errors
            return
        from engine.bundle import load_bundle
        from live.voice import Voice

        loaded = load_bundle(path)
        old = self.scheduler.performer.voice
        settings = copy.copy(old.settings)  # plain floats and tuples: the knob values in force now
        voice = Voice(loaded.config, loaded.stepper(), settings, rng=np.random.default_rng(),
                      step_timer=old.step_timer)
        self.commands.put(SwapModel(voice, name))


class TakeRecorder(Recorder):
    """A take started mid-session: times count from the press of `r`, not from the clock's start."""

    def __init__(self, path, start_seconds: float):
        super().__init__(path)
        self.start_seconds = start_seconds

    def add(self, part: str, seconds: float, msg) -> None:
        super().add(part, seconds - self.start_seconds, msg)


def _names(lister) -> list[str]:
    try:
        return list(dict.fromkeys(lister()))
    except Exception:  # no MIDI API available (no ALSA, no JACK server): nothing to list
        return []


def as_bridge(session) -> Bridge:
    return session if isinstance(session, Bridge) else Bridge(session)
