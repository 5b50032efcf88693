"""The instrument panel: knobs, faders, mode, presets, piano roll, meters, MIDI learn. Build it with make_app.

Threads: the scheduler's clock thread reaches this app only through EngineSink (deque + post_message); the
app reaches the scheduler only through commands (the bridge puts them on the session's queue). Redraws
happen on a set_interval timer that reads the coalesced state, never per note."""
from __future__ import annotations

import asyncio
import gc
import signal
import sys
from pathlib import Path

from textual import on
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static

from live.cc_map import CCMap
from live.presets import PRESET_CONTROLS, InstrumentState, Preset, discover_presets, save_preset
from live.scales import NOTE_NAMES, SCALES, scale_label, scale_levels
from live.session import Session
from live.session_api import SessionControl
from live.tui.control_map import CALL_KNOBS, CONTROL_IDS, KNOBS, command_for
from live.tui.instruments import InstrumentsMixin
from live.tui.keyboard_play import KeyboardPlayMixin
from live.tui.keys import app_bindings
from live.tui.learn import MidiLearnMixin
from live.tui.learn_takes import LearnTakesMixin
from live.tui.sources import SourcesMixin
from live.tui.sync_panel import SyncPanelMixin
from live.tui.messages import (EngineFailed, EngineReport, EngineSink, EngineStateChanged, NotesArrived,
                               StatsUpdated)
from live.tui.note_log import NoteLog
from live.tui.screens.help import HelpScreen
from live.tui.screens.pickers import NameScreen
from live.tui.panel_state import state_from_settings
from live.tui.view import ViewState
from live.tui.widgets.faders import PitchFaders
from live.tui.widgets.mode_switch import ModeSwitch
from live.tui.widgets.knob import Knob, Toggle
from live.tui.widgets.meters import Meters, PendingEvents
from live.tui.widgets.piano_roll import KeyboardStrip, PianoRoll
from live.user_config import midi_map_path, resolve_model

# The UI thread holds the GIL while it renders; by default Python makes a waiting thread (the clock) wait up
# to 5 ms for it, once per GIL hand-over, and a numpy model step hands over several times. 0.5 ms keeps a
# step's GIL waits well inside the 10 ms tick at little cost (measured in bench/bench_tui.py).
UI_SWITCH_INTERVAL = 0.0005
METER_EVERY = 3  # refresh frames per meters update


def _knob(spec, state: InstrumentState) -> Knob:
    low, high, step = spec.range
    return Knob(spec.label, low, high, step, getattr(state, spec.id), fmt=spec.fmt, unit=spec.unit,
                off_at_low=spec.low_label is not None, low_label=spec.low_label or "", id=spec.id)


class InstrumentApp(SyncPanelMixin, KeyboardPlayMixin, InstrumentsMixin, MidiLearnMixin, SourcesMixin,
                    LearnTakesMixin, App):
    CSS_PATH = "app.tcss"
    TITLE = "Performance RNN Live"
    BINDINGS = app_bindings()

    def __init__(self, bridge: SessionControl, presets: list[Preset], cc_map: CCMap, cc_map_path: Path | None,
                 state: InstrumentState, refresh_hz: float = 15.0, autostart: bool = True,
                 presets_dir: Path | None = None, startup_problems: list[str] | None = None) -> None:
        super().__init__()
        self.bridge, self.presets, self.cc_map, self.cc_map_path = bridge, presets, cc_map, cc_map_path
        self.state, self.refresh_hz, self.autostart, self.presets_dir = state, refresh_hz, autostart, presets_dir
        self.sink = EngineSink(self)
        self.log_notes = NoteLog()
        self.view = ViewState()
        self.preset_index: int | None = None
        self.learn_target: str | None = None
        self.startup_problems = startup_problems or []
        self.main = None  # the instrument's screen, set on mount
        self._refresh_timer = None
        self._frame = -1
        self._switch_interval = sys.getswitchinterval()
        self.init_piano()

    # ---- layout ----------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        s = self.state
        yield Static(id="status")
        with Horizontal(id="body"):
            with Vertical(id="controls"):
                for spec in KNOBS:
                    yield _knob(spec, s)
                yield Toggle("conditioning", s.conditioning, id="conditioning")
                yield Toggle("count my notes", s.count_player, id="count_player")
                yield Toggle("MIDI thru", self.bridge.settings.thru, id="thru")
                yield ModeSwitch(s.mode, id="mode")
                for spec in CALL_KNOBS:
                    yield _knob(spec, s)
                yield Static(id="scale")
                yield Static(id="sync").set_styles("display: none;")  # shown with sync on
                yield PitchFaders(s.pitch_levels, id="pitch")
                yield Static(id="presets")
                yield Static(id="programs")
                yield Static(id="ccmap")
            with Vertical(id="live"):
                yield PianoRoll(self.log_notes, id="roll")
                yield KeyboardStrip(self.log_notes, id="keys")
                with Horizontal(id="lower"):
                    yield Meters(id="meters")
                    yield PendingEvents(id="pending")
        yield Footer()

    def on_mount(self) -> None:
        self.main = self.screen  # modal screens come and go on top; the instrument's widgets live here
        self.bridge.install_sink(self.sink)
        self.send_all()
        self.update_labels()
        if self.refresh_hz > 0:
            self._refresh_timer = self.set_interval(1 / self.refresh_hz, self.refresh_view)
        self._signals(install=True)
        for problem in self.startup_problems:
            self.notify(f"skipped a preset: {problem}", severity="warning", timeout=10)
        self.refresh_view()
        # Start the clock once the first frame is drawn: mounting is the UI's longest hold of the GIL.
        self.call_after_refresh(self._start_clock)

    def _start_clock(self) -> None:
        # A full collection holds the GIL, so the clock waits it out: with torch, numpy and Textual loaded a
        # gen-2 pass took 90-290 ms here. Collect once now and freeze the survivors out of later passes.
        gc.collect()
        gc.freeze()
        if self.autostart:
            self.bridge.start()
            self.set_timer(0.5, self.update_labels)  # the clock thread's priority is known once it runs
        sys.setswitchinterval(min(sys.getswitchinterval(), UI_SWITCH_INTERVAL))  # after: a session sets its own

    def on_unmount(self) -> None:
        self.stop_learning()
        self.piano_send(self.piano.release_all())
        if self._refresh_timer is not None:
            self._refresh_timer.stop()
        self.bridge.stop()
        self.bridge.stop_clock()  # no-op after q; here for every other way out (errors, ctrl+c)
        sys.setswitchinterval(self._switch_interval)
        self._signals(install=False)

    def _signals(self, install: bool) -> None:
        """SIGTERM quits like q (panic first). Only the main thread's loop can take signal handlers."""
        try:
            loop = asyncio.get_running_loop()
            if install:
                loop.add_signal_handler(signal.SIGTERM, lambda: self.call_next(self.action_quit))
            else:
                loop.remove_signal_handler(signal.SIGTERM)
        except (RuntimeError, ValueError, NotImplementedError):  # not the main thread, or Windows
            pass

    # ---- state -> scheduler --------------------------------------------------------------------------------

    def send(self, control: str, value) -> None:
        command = command_for(control, value)
        if command is not None:
            self.bridge.send(command)

    def send_all(self) -> None:
        """Bring the scheduler in line with self.state (at start; widgets send their own changes after)."""
        s = self.state
        for name in PRESET_CONTROLS:
            self.send(name, getattr(s, name))
        self.send("pitch_levels", s.pitch_levels)

    @on(Knob.Changed)
    def knob_changed(self, event: Knob.Changed) -> None:
        name = event.knob.id
        self.state = self.state.replace(**{name: event.value})
        self.send(name, event.value)

    @on(Toggle.Changed)
    def toggle_changed(self, event: Toggle.Changed) -> None:
        name = event.toggle.id
        if name in PRESET_CONTROLS:
            self.state = self.state.replace(**{name: event.value})
        self.send(name, event.value)

    @on(ModeSwitch.Changed)
    def mode_changed(self, event: ModeSwitch.Changed) -> None:
        self.state = self.state.replace(mode=event.mode)
        self.send("mode", event.mode)

    @on(PitchFaders.Changed)
    def faders_changed(self, event: PitchFaders.Changed) -> None:
        scale = "custom" if event.by_user else self.state.scale
        self.state = self.state.replace(pitch_levels=event.levels, scale=scale)
        self.send("pitch_levels", event.levels)
        self.update_labels()

    # ---- actions -------------------------------------------------------------------------------------------

    def action_start_stop(self) -> None:
        self.bridge.stop() if self.bridge.running else self.bridge.start()
        if not self.bridge.running:
            self.log_notes.release_all(self.bridge.now())
        self.refresh_view()

    def action_panic(self) -> None:
        self.bridge.panic()
        self.log_notes.release_all(self.bridge.now())
        self.notify("panic: all notes off", timeout=2)

    def action_record(self) -> None:
        try:
            self.notify(self.bridge.toggle_recording(), timeout=4)
        except OSError as err:
            self.notify(f"cannot save the recording: {err}", severity="error", timeout=8)
        self.refresh_view()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.BINDINGS))

    async def action_quit(self) -> None:
        """Panic first, then stop everything; App.run() returns the saved recordings' paths."""
        self.bridge.panic()  # before anything else, so nothing is left sounding if shutdown is slow
        self.bridge.stop()
        self.exit(self.bridge.stop_clock())

    def action_cycle_mode(self) -> None:
        self.main.query_one(ModeSwitch).action_cycle(1)

    def action_toggle_conditioning(self) -> None:
        self.main.query_one("#conditioning", Toggle).action_flip()

    def action_toggle_thru(self) -> None:
        self.main.query_one("#thru", Toggle).action_flip()

    def action_reset_model(self) -> None:
        self.bridge.reset_model()

    def action_scale(self, name: str) -> None:
        self.apply_scale(name, self.state.root)

    def action_root(self, delta: int) -> None:
        root = NOTE_NAMES[(NOTE_NAMES.index(self.state.root) + delta) % 12]
        self.apply_scale(self.state.scale if self.state.scale in SCALES else "major", root)

    def apply_scale(self, scale: str, root: str) -> None:
        self.state = self.state.replace(scale=scale, root=root)
        self.main.query_one(PitchFaders).levels = scale_levels(scale, root)
        self.update_labels()

    # ---- presets -----------------------------------------------------------------------------------------

    def action_preset(self, index: int) -> None:
        if index >= len(self.presets):
            self.notify(f"no preset {index + 1}: {len(self.presets)} loaded", severity="warning", timeout=3)
            return
        self.load_preset(index)

    def action_next_preset(self) -> None:
        if self.presets:
            self.load_preset(((-1 if self.preset_index is None else self.preset_index) + 1) % len(self.presets))

    def action_previous_preset(self) -> None:
        if self.presets:
            self.load_preset(((self.preset_index or 0) - 1) % len(self.presets))

    def load_preset(self, index: int) -> None:
        preset = self.presets[index]
        self.preset_index = index
        self.apply_state(preset.state)
        self.notify(f"preset {index + 1}: {preset.name}", timeout=2)

    def apply_state(self, new: InstrumentState) -> None:
        """Move every widget to `new`; each widget that changes sends its own command."""
        old, self.state = self.state, new
        for spec in KNOBS + CALL_KNOBS:
            self.main.query_one(f"#{spec.id}", Knob).value = getattr(new, spec.id)
        self.main.query_one("#conditioning", Toggle).value = new.conditioning
        self.main.query_one("#count_player", Toggle).value = new.count_player
        self.main.query_one(ModeSwitch).mode = new.mode
        self.main.query_one(PitchFaders).levels = new.pitch_levels
        for control in ("program", "player_program"):  # no widget of their own to send them
            if getattr(new, control) != getattr(old, control):
                self.send(control, getattr(new, control))
        if new.model != old.model:
            if resolve_model(new.model) is None:  # e.g. a shipped preset's 'default' before a model ships
                self.state = self.state.replace(model=old.model)
                self.notify(f"model {new.model!r} is not available; keeping {Path(old.model).stem}",
                            severity="warning", timeout=4)
            else:
                self.swap_model(new.model)
        self.update_labels()

    def action_save_preset(self) -> None:
        def save(name: str | None) -> None:
            if not name:
                return
            preset = Preset(name, f"saved from the panel: {scale_label(self.state.scale, self.state.root)}"
                            if self.state.scale in SCALES else "saved from the panel", self.state)
            try:
                path = save_preset(preset, self.presets_dir)
            except OSError as err:
                self.notify(f"cannot save preset: {err}", severity="error")
                return
            self.presets.append(preset)
            self.preset_index = len(self.presets) - 1
            self.notify(f"saved preset {len(self.presets)} to {path}", timeout=4)
            self.update_labels()

        self.push_screen(NameScreen("Save the current settings as preset:", "my preset"), save)

    # ---- engine -> view ------------------------------------------------------------------------------------

    @on(NotesArrived)
    def notes_arrived(self) -> None:
        pass  # the refresh timer drains the deque; the message only exists to wake an idle loop

    @on(StatsUpdated)
    def stats_updated(self, event: StatsUpdated) -> None:
        self.view.add_report(event.report)

    @on(EngineStateChanged)
    def engine_state(self, event: EngineStateChanged) -> None:
        if event.key == "notice":  # sync: a bad clock or transport message was ignored
            self.notify(event.value, severity="warning", timeout=6)
            return
        if event.key == "core":  # the core's clock stopped by itself (--duration, an error): quit as with q
            self.call_next(self.action_quit)
            return
        self.view.set_state(event.key, event.value)
        self.update_labels()

    @on(EngineReport)
    def engine_report(self, event: EngineReport) -> None:
        error = event.text.startswith("error") or "lost" in event.text
        self.notify(event.text, severity="error" if error else "information", timeout=6)

    @on(EngineFailed)
    def engine_failed(self, event: EngineFailed) -> None:
        self.notify(event.text.splitlines()[0], severity="error", timeout=8)

    def refresh_view(self, now: float | None = None) -> None:
        """The throttled redraw: drain notes, then update roll, keys, meters and pending from coalesced state."""
        if not self.main.query(PianoRoll):
            return  # shutting down: the widgets are already gone
        now = self.bridge.now() if now is None else now
        for seconds, part, msg in self.sink.drain():
            self.log_notes.add(seconds, part, msg)
        self.log_notes.prune(now)
        self.main.query_one(PianoRoll).update_roll(now)
        self.main.query_one(KeyboardStrip).update_keys()
        self._frame += 1
        if self._frame % METER_EVERY == 0 or self.refresh_hz <= 0:  # numbers read better at ~5 Hz, and cost
            reading = self.view.reading(self.state, self.log_notes, now, self.bridge)
            reading.audio = self.bridge.audio_level()
            self.main.query_one(Meters).show(reading)
            self.show_sync()
        self.main.query_one(PendingEvents).show(self.bridge.pending(now, limit=6))

    def update_labels(self) -> None:
        if not self.main.query("#scale"):
            return  # shutting down (a timer fired late): the widgets are already gone
        s = self.state
        scale = scale_label(s.scale, s.root) if s.scale in SCALES else f"custom (root {s.root})"
        self.main.query_one("#scale", Static).update(
            f"[b]scale[/] {scale}  [dim]\\[ ] root, M N H P K B W C[/]")
        names = [f"[reverse]{i + 1}[/] {p.name}" if i == self.preset_index else f"[b]{i + 1}[/] {p.name}"
                 for i, p in enumerate(self.presets[:10])]
        self.main.query_one("#presets", Static).update("  ".join(names) or "[dim]no presets[/]")
        self.main.query_one("#programs", Static).update(self.programs_label())
        self.main.query_one("#status", Static).update(self.piano_status() + self.view.status_line(s, self.bridge))
        mapped = [f"{control} ← ch {ch + 1} CC {cc}" for (ch, cc), control in sorted(self.cc_map.bindings.items())]
        self.main.query_one("#ccmap", Static).update(
            "[b]MIDI map[/]  " + ("  ·  ".join(mapped) if mapped else "none yet: focus a control, press l, "
                                   "move a hardware knob"))


def make_app(session, *, presets: list[Preset] | None = None, state: InstrumentState | None = None,
             cc_map_path: Path | None | str = "user", refresh_hz: float = 15.0, autostart: bool = True,
             presets_dir: Path | None = None, recordings_dir: Path | None = None,
             takes_root: Path | None = None) -> InstrumentApp:
    """Build the panel for a session (real or fake). presets default to shipped + saved ones; the MIDI map
    is read from the user config dir ('user') or a given path, or not kept at all (None)."""
    bridge = SessionControl(session) if isinstance(session, Session) else session  # else a CoreClient
    if recordings_dir is not None:
        bridge.recordings_dir = Path(recordings_dir)
    problems: list[str] = []
    presets = discover_presets(errors=problems) if presets is None else list(presets)
    path = midi_map_path() if cc_map_path == "user" else (Path(cc_map_path) if cc_map_path else None)
    cc_map = CCMap.load(path, set(CONTROL_IDS)) if path is not None else CCMap()
    if state is None:
        settings = bridge.settings
        state = state_from_settings(settings, bridge.model_name)  # the CLI's flags, not the first preset
        if presets and not settings.notes_per_second and not settings.pitch_class_histogram:
            # no knob given: start in the first preset's musical state (Calm C major), not with the knobs off
            state = presets[0].state.replace(mode=state.mode, model=state.model, program=state.program,
                                             player_program=state.player_program)
    start = state or (presets[0].state if presets else InstrumentState())
    app = InstrumentApp(bridge, presets, cc_map, path, start, refresh_hz, autostart, presets_dir, problems)
    app.takes_root = takes_root  # what "learn from my takes" (f) reads; None: the default takes folder
    return app
