"""The panel's view of sync with a DAW or Link peers (live.sync): a status line and keys for the groove
quantize, the tempo (when we lead: --clock-out or Link), Link's play/stop and whom to follow (nobody, MIDI
clock, Link). The line shows while we follow, lead or quantize."""
from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Static

from engine.errors import ConfigError, PerformanceRnnError
from live.sync.timing import SYNC_MODES, SetBpm, SetLinkPlaying, SetQuantize

QUANTIZE_STEP = 10.0  # percent per key press


def sync_bindings() -> list[Binding]:
    return [Binding("left_curly_bracket", "quantize(-1)", "sync: groove quantize −10 %", show=False),
            Binding("right_curly_bracket", "quantize(1)", "sync: groove quantize +10 %", show=False),
            Binding("less_than_sign", "bpm(-1)", "sync: tempo −1 BPM (when we lead)", show=False),
            Binding("greater_than_sign", "bpm(1)", "sync: tempo +1 BPM (when we lead)", show=False),
            Binding("backslash", "link_play", "sync: Link session play/stop", show=False),
            Binding("vertical_line", "sync_mode", "sync: follow nobody → MIDI clock → Link", show=False)]


def sync_line(status) -> str:
    transport = "[green]playing[/]" if status.playing else "[yellow]waiting[/]"
    peers = "" if status.link_peers is None else f" · {status.link_peers} Link peer(s)"
    return (f"[b]sync[/] {status.mode} {status.bpm:.1f} BPM {transport} · quantize {status.quantize:.0f} % "
            f"of {status.grid}{peers}  [dim]{{ }} quantize, < > tempo, | follow[/]")


class SyncPanelMixin:
    """Mixed into the App: needs self.bridge (sync_status(), send()) and self.main."""

    def show_sync(self) -> None:
        status = self.bridge.sync_status()
        line = self.main.query_one("#sync", Static)
        line.display = status is not None and status.shown
        if line.display:
            line.update(sync_line(status))

    def _sync_command(self, build) -> None:
        status = self.bridge.sync_status()
        if status is None:
            return  # the core has not said yet
        try:
            self.bridge.send(build(status))
        except ConfigError as err:
            self.notify(str(err), severity="warning", timeout=3)

    def action_quantize(self, direction: int) -> None:
        self._sync_command(lambda s: SetQuantize(min(100.0, max(0.0, s.quantize + direction * QUANTIZE_STEP))))

    def action_bpm(self, delta: int) -> None:
        self._sync_command(lambda s: SetBpm(s.bpm + delta))

    def action_link_play(self) -> None:
        self._sync_command(lambda s: SetLinkPlaying(not s.playing))

    def action_sync_mode(self) -> None:
        status = self.bridge.sync_status()
        if status is None:
            return
        mode = SYNC_MODES[(SYNC_MODES.index(status.mode) + 1) % len(SYNC_MODES)]
        try:
            self.bridge.set_sync_mode(mode)
        except PerformanceRnnError as err:  # no Link package, or we lead with --clock-out
            self.notify(str(err), severity="warning", timeout=5)
