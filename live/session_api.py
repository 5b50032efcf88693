"""The one session API the panel (TUI, web) drives, and its in-process implementation over a live Session.

The UI side of live/ talks to the real-time core only through this API: settings go out as SetControl
commands (the only way into the scheduler), engine news comes back through the sink installed with
`install_sink` (events from the scheduler, the player's messages for MIDI learn, one-line reports).
live.core_process.CoreClient implements the same API over a pipe to a core in its own process."""
from __future__ import annotations

import dataclasses
import datetime
import time
from pathlib import Path

from engine.errors import ConfigError

from .commands import Panic, PlayerMessage, ResetModel, SetControl
from .pending import PendingEvent, pending_events
from .ports import PortError, input_names, output_names
from .programs import program_messages
from .recorder import Recorder
from .synth_meter import SynthMeter
from .user_config import list_bundles, resolve_model

VIRTUAL_OUTPUT = "virtual: Performance RNN"
VIRTUAL_INPUT = "virtual: Performance RNN in"


class SessionControl:
    """A Session driven from the UI thread. `running`: the model plays (the clock runs regardless)."""

    def __init__(self, session, recordings_dir: Path | None = None):
        self.session = session
        self.settings = session.settings  # read-only here: changes go out as commands
        self.sink = None
        self.running = False
        self.recordings_dir = recordings_dir or Path.cwd()
        self.current_input, self.current_output = session.input_name, session.output_name
        self.model_name = str(session.config.bundle_file or "default")  # a path is a valid model name
        self._recorder: Recorder | None = None
        self._meter: SynthMeter | None = None  # the built-in synth's level, while the clock runs
        self._mode = session.settings.mode
        self._closed = False

    @property
    def recording(self) -> bool:
        return self.session.scheduler.recorder is not None

    @property
    def realtime(self) -> bool:
        """Did the clock thread get real-time scheduling (SCHED_FIFO)?"""
        return self.session.realtime

    # ---- life cycle ------------------------------------------------------------------------------------------

    def install_sink(self, sink) -> None:
        """Route the scheduler's events, the player's messages and the session's reports into the UI."""
        self.sink = sink
        self.session.scheduler.on_event = sink
        self.session.on_player_message = sink.player_message
        self.session.report = self.session.watcher.report = sink.report  # stderr would tear the screen

    def start_clock(self) -> None:
        self.session.start()
        if self.session.synth is not None and self._meter is None:
            self._meter = SynthMeter(self.session.synth).start()

    def sync_status(self):
        """live.sync.timing.SyncStatus (its `shown`: is there anything to show)."""
        return self.session.sync.status()

    def set_sync_mode(self, mode: str) -> None:
        """Follow MIDI clock ('midi'), a Link session ('link') or nobody ('off'). ConfigError if it cannot."""
        self.session.sync.switch(mode)

    def audio_level(self) -> tuple[float, float] | None:
        """(rms, peak) dBFS of what the built-in synth plays, or None without one."""
        return None if self._meter is None else self._meter.read()

    def stop_clock(self) -> list[str]:
        """Panic, stop the clock, close ports, save recordings; once. Returns the recordings' paths."""
        if self._closed:
            return []
        self._closed = True
        if self._meter is not None:
            self._meter.close()
        saved = [self.session.stop(), self._finish_recording()]
        return [str(p) for p in saved if p]

    def start(self) -> None:
        """Let the model play: start the clock if needed and restore the chosen mode."""
        self.start_clock()
        self.running = True
        self.session.send(SetControl("mode", self._mode))

    def stop(self) -> None:
        """Silence the model without stopping the clock: it keeps listening, and meters keep running."""
        if self.running:
            self.running = False
            self.session.send(SetControl("mode", "mute"))
            self.session.send(Panic())

    def now(self) -> float:
        """Scheduler seconds since its clock started (0 before)."""
        s = self.session.scheduler
        return max(0.0, s.clock.now() - s.t0) if s.tick >= 0 else 0.0

    def summary(self) -> str:
        """The one-line session summary the headless run prints at exit."""
        return self.session.summary()

    def stats(self) -> dict:
        return self.session.stats()

    def current_settings(self):
        """A copy of the settings in force (what the clock thread has applied so far)."""
        return dataclasses.replace(self.session.settings)

    # ---- commands --------------------------------------------------------------------------------------------

    def send(self, command) -> None:
        if isinstance(command, SetControl) and command.id == "mode":
            self._mode = command.value
            if not self.running:
                return  # stopped: remembered and sent on start
        self.session.send(command)

    def panic(self) -> None:
        self.session.send(Panic())

    def reset_model(self) -> None:
        self.session.send(ResetModel())

    def player_message(self, msg) -> None:
        """A note played on the panel (computer keyboard, on-screen keys): heard exactly like port input."""
        self.session.send(PlayerMessage(msg, self.session.clock.now()))

    def pending(self, now: float, limit: int = 6) -> list[PendingEvent]:
        return pending_events(self.session.scheduler, now, limit)

    # ---- recording -------------------------------------------------------------------------------------------

    def toggle_recording(self) -> str:
        """With a session recorder (--record PATH): pause/resume it (the session saves it on exit).
        Without: start a new take in recordings_dir, and save it when recording stops."""
        scheduler, fixed = self.session.scheduler, self.session.recorder
        if fixed is not None:
            scheduler.recorder = None if self.recording else fixed  # one atomic attribute store
            return f"recording {'resumed' if self.recording else 'paused'} (saved to {fixed.path} on exit)"
        if self._recorder is None:
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            start = self.now()
            self._recorder = TakeRecorder(self.recordings_dir / f"performance-rnn-live-{stamp}.mid", start)
            for part, msg in program_messages(self.settings):  # the instruments in force when the take begins
                self._recorder.add(part, start, msg)
            scheduler.recorder = self._recorder
            return f"recording to {self._recorder.path}"
        return f"saved recording {self._finish_recording()}"

    def _finish_recording(self):
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return None
        if self.session.scheduler.recorder is recorder:
            self.session.scheduler.recorder = None
        time.sleep(0.02)  # let an add() the clock thread began before the swap finish
        return recorder.save()

    # ---- ports and models ------------------------------------------------------------------------------------

    def input_names(self) -> list[str]:
        return [VIRTUAL_INPUT] + [n for n in _listed(input_names) if not self._own(n)]

    def output_names(self) -> list[str]:
        return [VIRTUAL_OUTPUT] + [n for n in _listed(output_names) if not self._own(n)]

    def _own(self, name: str) -> bool:
        """Our own virtual ports show up in the lists too; picking one would feed the model to itself."""
        own = self.session.config.ports.virtual_name
        return name.split(":")[-1].strip() in (own, f"{own} in")

    def use_output(self, name: str) -> None:
        self.session.use_output(None if name == VIRTUAL_OUTPUT else name)
        self.current_output = name

    def use_input(self, name: str) -> None:
        self.session.use_input(None if name == VIRTUAL_INPUT else name)
        self.current_input = name

    def model_names(self) -> list[str]:
        return list(list_bundles())

    def swap_model(self, name: str) -> None:
        """Blocking (run it in a worker): load the bundle and prime a voice, handed over by command."""
        path = resolve_model(name)
        if path is None:
            raise ConfigError(f"unknown model {name!r}; available: {', '.join(self.model_names()) or 'none'} "
                              f"(put bundles in a models folder or give a path)")
        self.session.swap_model(str(path), name).join()  # it reports its own errors


class TakeRecorder(Recorder):
    """A take started mid-session: times count from the press of `r`, not from the clock's start."""

    def __init__(self, path, start_seconds: float):
        super().__init__(path)
        self.start_seconds = start_seconds

    def add(self, part: str, seconds: float, msg) -> None:
        super().add(part, seconds - self.start_seconds, msg)


def _listed(lister) -> list[str]:
    try:
        return lister()
    except PortError:  # no MIDI API reachable: nothing to pick from (the picker says so)
        return []
