"""A playing instrument: model, ports, scheduler thread, recorder. What the CLI and the TUI drive.

    session = Session(SessionConfig(Settings(mode="duet")), on_event=callback)  # loads the model, opens ports
    session.start()                                                           # the clock thread runs
    session.send(SetControl("temperature", 0.9))                              # any live.commands command
    session.stop()                                                     # panic, close ports, save recording

`on_event` is called on the clock thread and must not block (append to a deque, post_message); wrap a slow
callback in EventPump. Player messages reach the scheduler only through the command queue.

Things that stall the clock thread from any other thread of this process, because they hold the GIL: opening
or closing a MIDI client (every mido.open_*/get_*_names call: ~25-60 ms on JACK; list ports through
live.ports.PortLister instead), a full garbage collection over many long-lived tracked objects (keep session-
long logs as plain tuples/bytes, see Recorder), and any normal-priority thread preempted while holding the GIL
(run them with live.clock.make_realtime(HELPER_PRIORITY))."""
from __future__ import annotations

import collections
import gc
import sys
import threading
from dataclasses import dataclass, field

import numpy as np


from .clock import CLOCK_PRIORITY, HELPER_PRIORITY, MonotonicClock, make_realtime
from .commands import CommandQueue, PlayerMessage, ReplaceOutput, Stop, SwapModel
from .midi_output import MidiOutput
from .performer import Performer
from .ports import PortConfig, PortWatcher, open_inputs, open_output
from .recorder import Recorder
from .scheduler import Scheduler, SchedulerConfig
from .stats import Stats
from .server_watch import ServerWatch, lost_message
from .synth import SynthConfig, SynthTee, open_synth
from .sync.session_hook import SyncHook
from .sync.timing import SyncConfig
from .settings import Settings
from .voice import Voice

SWITCH_INTERVAL = 0.001  # s; a thread waiting for the GIL (the MIDI callback) gets it within 1 ms, not 5


@dataclass
class SessionConfig:
    """What a session is built from: the knobs (live.settings) and everything that is not a knob."""

    settings: Settings = field(default_factory=Settings)
    bundle_file: str | None = None  # None: the shipped model
    ports: PortConfig = field(default_factory=PortConfig)
    seed: int | None = None
    primer_midi: str | None = None
    primer_pitches: list | None = None
    primer_melody: list | None = None
    record: str | None = None
    record_audio: str | None = None  # WAV of what the synth plays (live.audio_record); needs `synth`
    duration: float | None = None
    reconnect: bool = False  # when the MIDI system dies: wait for it (True, the TUI) or stop with an error
    synth: SynthConfig | None = None  # the built-in synth (live.synth); None: MIDI only
    realtime: bool = True  # try SCHED_FIFO for the clock thread (needs root or an rtprio limit)
    sync: SyncConfig = field(default_factory=SyncConfig)


def load_model(path: str | None):
    """LoadedModel from a bundle path, or the shipped model (None); a one-line BundleError if there is none."""
    from engine.bundle import load_bundle

    return load_bundle(path)


def build_voice(loaded, config: SessionConfig, settings: Settings, step_timer=None) -> Voice:
    """A primed voice playing by `settings` (heavy: call off the clock thread)."""
    from engine.primers import build_primer

    voice = Voice(loaded.config, loaded.stepper(), settings, rng=np.random.default_rng(config.seed),
                  step_timer=step_timer)
    if config.primer_midi or config.primer_pitches or config.primer_melody:
        primer = build_primer(loaded.config.num_velocity_bins, 10 ** 9, config.primer_pitches,
                              config.primer_melody, config.primer_midi)
        voice.prime(primer.ids)
    return voice


class EventPump:
    """Makes any callback safe for the clock thread: events go into a bounded deque (never blocks) and a
    daemon thread delivers them. Old events are dropped if the consumer falls far behind."""

    def __init__(self, callback, maxlen: int = 10_000):
        self.callback = callback
        self._events: collections.deque = collections.deque(maxlen=maxlen)
        self._ready = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="event-pump", daemon=True)
        self._thread.start()

    def __call__(self, event) -> None:
        self._events.append(event)
        self._ready.set()

    def _run(self) -> None:
        make_realtime(HELPER_PRIORITY)  # see clock.HELPER_PRIORITY: a preempted GIL holder stalls the clock
        while not self._done or self._events:
            self._ready.wait(0.1)
            self._ready.clear()
            while self._events:
                self.callback(self._events.popleft())

    def close(self) -> None:
        self._done = True
        self._ready.set()
        self._thread.join(timeout=2)


class Session:
    """Build with a config; `loaded`, `clock`, `output_port` and `input_ports` may be injected (tests)."""

    def __init__(self, config: SessionConfig, on_event=None, *, loaded=None, clock=None, output_port=None,
                 open_ports: bool = True, report=None):
        self.config = config
        self.report = report or (lambda text: print(text, file=sys.stderr, flush=True))
        self.commands = CommandQueue()
        self.clock = clock or MonotonicClock()
        self.loaded = loaded or load_model(config.bundle_file)
        self.on_player_message = None  # optional hook (TUI: MIDI learn); runs on the MIDI thread
        recording = config.record or config.record_audio  # the WAV is rendered from the recorded events
        self.recorder = Recorder(recording, self.report) if recording else None
        self.settings = config.settings  # the clock thread's from start() on: changed only by SetControl
        performer = Performer(build_voice(self.loaded, config, self.settings))
        self.output_name = self.input_name = None
        self.inputs: list = []
        if output_port is None and open_ports:
            output_port, self.output_name = open_output(config.ports)
        self.synth = open_synth(config.synth, self.report) if config.synth else None
        self.output = MidiOutput(self._with_synth(output_port))
        sched_config = SchedulerConfig(duration_seconds=config.duration, collect_garbage=True)
        self.sync = SyncHook(config.sync, self.settings.lookahead_ms / 1000, self.commands, self.clock, on_event)
        self.scheduler = Scheduler(performer, self.output, self.commands, self.clock, sched_config,
                                   on_event=on_event, recorder=self.recorder, timing=self.sync.timing)
        if open_ports:
            self.inputs, self.input_name = open_inputs(config.ports, self._on_input)
            self.sync.open_clock_input(config.ports)
        self.watcher = PortWatcher(config.ports, self.commands, self._on_input, self.inputs, self.report,
                                   output=self.output)
        self.server = ServerWatch(config.ports.virtual_name, self._server_lost, self._server_back, config.reconnect,
                                  enabled=open_ports)
        self.fault: str | None = None  # why the session stopped by itself (the MIDI system died)
        self._dead_ports: list = []
        self.lost_server = False  # the JACK server died under us (see live.server_watch.exit_past_dead_clients)
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.realtime = False  # set once the clock thread has (or has not) got real-time priority

    # ---- life cycle ----------------------------------------------------------------------------------------

    @property
    def clock_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def ended(self) -> bool:
        """The clock ran and has stopped (duration, Stop, error, the MIDI system gone)."""
        return self._thread is not None and not self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            return
        sys.setswitchinterval(SWITCH_INTERVAL)
        # A full garbage collection runs on whichever thread allocates, often the clock thread: tens of ms
        # with torch's objects around. Freezing what exists now keeps later collections small.
        gc.collect()
        gc.freeze()
        gc.disable()  # from now on the clock collects in its slack (Scheduler._collect_garbage)
        if self.recorder is not None and self.config.record:  # the crash-proof sidecar is for MIDI takes
            self.recorder.start()
        self.watcher.start()  # first: it opens its listing clients, which would stall a running clock
        self.server.start()
        self._thread = threading.Thread(target=self._run_clock, name="scheduler", daemon=True)
        self._thread.start()

    def _run_clock(self) -> None:
        if self.config.realtime:
            self.realtime = make_realtime(CLOCK_PRIORITY)
        self.scheduler.run()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the scheduler ends (duration, Stop, error). True if it has ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> str | None:
        """Panic, stop the clock, close the ports, save the recording. Returns the recording's path."""
        if self._stopped:
            return self.recorder.path if self.recorder is not None else None
        self._stopped = True
        self.commands.put(Stop())
        self.wait(5.0)
        gc.enable()
        self.server.stop()
        self.watcher.stop()
        for port in self.inputs:
            port.callback = None
            port.close()
        self.inputs.clear()
        self.sync.close(self.recorder, self.scheduler.t0)
        for port in self.output.take_retired():
            if all(port is not dead for dead in self._dead_ports):
                port.close()
        self.output.close()
        if self.synth is not None:
            self.synth.close()
        if self.recorder is not None and self.config.record_audio:
            self._save_audio()
        if self.recorder is not None and self.config.record:
            return self.recorder.save()
        return None

    def _server_lost(self, reason: str) -> None:
        self.report(lost_message(reason, self.config.reconnect))
        # Their clients died with the server: closing one later would crash inside RtMidi, so they are
        # dropped, never closed.
        self.lost_server = True
        self._dead_ports += [self.output.port, *self.inputs]
        self.inputs.clear()
        self.commands.put(ReplaceOutput(None, "JACK server lost"))
        if not self.config.reconnect:
            self.fault = "JACK server lost"
            self.commands.put(Stop())

    def _server_back(self) -> None:
        """The server is back: new clients for our ports (the old ones died with the server)."""
        port, self.output_name = open_output(self.config.ports)
        self.commands.put(ReplaceOutput(port, f"reconnected {self.output_name}"))
        self.inputs[:], self.input_name = open_inputs(self.config.ports, self._on_input)
        self.report(f"reconnected to the JACK server: {self.output_name} <- {self.input_name}")

    def _save_audio(self) -> None:
        from .audio_record import record_audio

        try:
            path = record_audio(self.config.record_audio, self.recorder, self.config.synth or SynthConfig(),
                                with_player=self.settings.thru)
            self.report(f"recorded {path}")
        except Exception as err:  # the MIDI recording must still be saved
            self.report(f"error: cannot write the audio recording: {err}")

    # ---- driving it ------------------------------------------------------------------------------------------

    def send(self, command) -> None:
        self.commands.put(command)

    def stats(self) -> dict:
        """The figures a bench reads from outside (live.stats.Stats.report) and the clock's priority."""
        return {**self.scheduler.stats.report(), "realtime": self.realtime}

    def summary(self) -> str:
        """One line: messages sent, lateness p50/p99/max, late ticks, model step p99, rollbacks."""
        s = self.scheduler.stats
        late, step = Stats.summary(s.lateness), Stats.summary(s.step_seconds)
        heard = Stats.summary(s.input_latency)
        return (f"sent {late['n']} messages; lateness p50 {late['p50'] * 1e3:.3f} ms, p99 {late['p99'] * 1e3:.3f} "
                f"ms, max {late['max'] * 1e3:.3f} ms; late ticks {s.late_ticks}/{s.ticks} "
                f"({s.ticks_over(0.002)} over 2 ms); model step p99 {step['p99'] * 1e3:.3f} ms; input heard "
                f"p99 {heard['p99'] * 1e3:.3f} ms; rollbacks {s.rollbacks}")

    def _on_input(self, msg) -> None:
        # The MIDI thread (inside JACK's process cycle): stamp, enqueue, return.
        if self.sync.feed(msg, self.clock.now(), "input"):
            return
        self.commands.put(PlayerMessage(msg, self.clock.now()))
        hook = self.on_player_message
        if hook is not None:
            hook(msg)

    def swap_model(self, path: str, name: str = "") -> threading.Thread:
        """Load a bundle and prime a voice on a worker thread, then hand it over between ticks."""
        def load():
            try:
                # Built with the live settings; the swap re-reads them on the clock thread.
                voice = build_voice(load_model(path), self.config, self.settings)
                self.commands.put(SwapModel(voice, name or str(path)))
            except Exception as err:
                self.report(f"error: cannot swap model: {err}")
        thread = threading.Thread(target=load, name="model-loader", daemon=True)
        thread.start()
        return thread

    def use_output(self, name: str | None) -> None:
        """Switch to a named output (None: the virtual one); opened here, swapped on the clock thread.
        Opening a port holds the GIL for tens of ms: expect one late tick (the swap panics anyway)."""
        ports = PortConfig(**{**vars(self.config.ports), "output": name})
        port, self.output_name = open_output(ports)
        self.commands.put(ReplaceOutput(self._with_synth(port), self.output_name))

    def _with_synth(self, port):
        return SynthTee(port, self.synth) if self.synth is not None else port

    def use_input(self, name: str | None) -> None:
        """Listen to a named input (None: the virtual one) instead of the current ones."""
        ports = PortConfig(**{**vars(self.config.ports), "input": name, "all_inputs": False, "no_input": False})
        new, self.input_name = open_inputs(ports, self._on_input)
        for port in self.inputs:
            port.callback = None
            port.close()
        self.inputs[:] = new
