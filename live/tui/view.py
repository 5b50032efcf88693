"""ViewState: what the panel shows besides the widgets' own values, folded from the engine's reports."""
from __future__ import annotations

import collections
from pathlib import Path

import numpy as np

from live.tui.note_log import MODEL, PLAYER, NoteLog
from live.tui.widgets.meters import LATENESS_WINDOW_S, MeterReading

REPORT_SECONDS = 0.5  # the scheduler's report window (SchedulerConfig.stats_every_seconds)
WINDOWS_KEPT = round(LATENESS_WINDOW_S / REPORT_SECONDS)  # report windows behind both lateness figures


class ViewState:
    def __init__(self):
        self.report = None
        self.window_max: collections.deque = collections.deque(maxlen=WINDOWS_KEPT)
        self.engine: dict[str, str] = {}
        self.model_status: str | None = None

    def add_report(self, report) -> None:
        self.report = report
        self.window_max.append(report.window_max_lateness)

    def set_state(self, key: str, value: str) -> None:
        if key == "model":
            self.model_status = value
        else:
            self.engine[key] = value

    def lateness_ms(self, percentile: float) -> float | None:
        """A percentile of the kept windows' worst lateness (100: the worst of all), in ms."""
        if not self.window_max:
            return None
        return float(np.percentile(np.maximum(np.asarray(self.window_max), 0.0), percentile)) * 1000

    def reading(self, state, log: NoteLog, now: float, bridge) -> MeterReading:
        r = self.report
        status = "playing" if bridge.running else "stopped"
        if bridge.running and state.mode == "call":
            status += f" ({self.engine.get('call', 'listening')})"
        return MeterReading(
            step_ms=None if r is None else r.step_estimate * 1000,
            lateness_p99_ms=self.lateness_ms(99),
            lateness_max_ms=self.lateness_ms(100),
            requested_nps=state.notes_per_second if state.conditioning and state.notes_per_second > 0 else None,
            actual_nps=log.notes_per_second(MODEL, now),
            player_nps=log.notes_per_second(PLAYER, now),
            in_scale=log.share_in_classes(MODEL, state.pitch_levels, now),
            lookahead_ms=state.lookahead_ms,
            late_ticks=0 if r is None else r.late_ticks,
            catchups=0 if r is None else r.catchups,
            rollbacks=0 if r is None else r.rollbacks,
            pending=0 if r is None else r.pending,
            status=status,
            recording=bridge.recording,
        )

    def status_line(self, state, bridge) -> str:
        model = self.model_status or Path(state.model).stem
        output = bridge.current_output or "none"
        if self.engine.get("output") == "lost":
            output += " [red](lost)[/]"
        clock = "RT" if bridge.realtime else "[yellow]not RT[/]"  # SCHED_FIFO or not
        return (f"[b]model[/] {model}   [b]in[/] {bridge.current_input or 'none'}   [b]out[/] {output}   "
                f"[b]clock[/] {clock}   [dim]i/o · b model · ? help[/]")
