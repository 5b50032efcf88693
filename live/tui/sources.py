"""Choosing the sources: MIDI input and output ports, and the model bundle (hot-swapped off the clock)."""
from __future__ import annotations

from textual import work

from engine.errors import PerformanceRnnError
from live.tui.messages import EngineFailed, EngineStateChanged
from live.tui.screens.pickers import PickScreen


class SourcesMixin:
    """Mixed into the App: needs self.bridge, self.state, self.view and update_labels()."""

    def action_pick_input(self) -> None:
        self._pick("MIDI input (your keyboard):", self.bridge.input_names(), self.bridge.current_input,
                   self.bridge.use_input)

    def action_pick_output(self) -> None:
        self._pick("MIDI output (synth or DAW):", self.bridge.output_names(), self.bridge.current_output,
                   self.bridge.use_output)

    def action_pick_model(self) -> None:
        from engine.bundle_info import model_summary
        from live.user_config import resolve_model

        models = self.bridge.model_names()
        details = {name: model_summary(resolve_model(name) or name) for name in models}
        self._pick("Model bundle:", models, self.state.model, self.swap_model, details)

    def _pick(self, title: str, items: list[str], current, use, details: dict | None = None) -> None:
        if not items:
            self.notify(f"{title} nothing to choose from", severity="warning")
            return

        def chosen(name: str | None) -> None:
            if name is None:
                return
            try:
                use(name)
            except (PerformanceRnnError, OSError) as err:
                self.notify(str(err), severity="error", timeout=6)
            self.update_labels()

        self.push_screen(PickScreen(title, items, current, details), chosen)

    def swap_model(self, name: str) -> None:
        self.state = self.state.replace(model=name)
        self.view.model_status = f"loading {name}…"
        self._load_model(name)

    @work(thread=True, exclusive=True, group="model")
    def _load_model(self, name: str) -> None:
        """Off the UI thread and off the clock: load, build and prime a voice, then hand it over by command."""
        try:
            self.bridge.swap_model(name)
            status = name
        except (PerformanceRnnError, OSError) as err:
            status = f"{name}: failed"
            self.post_message(EngineFailed(f"cannot load model {name!r}: {err}"))
        self.post_message(EngineStateChanged("model", status))
