"""Performance RNN engine: events, configs, the model, fast stepping, sampling, bundles and generation.

Names are imported lazily (PEP 562), so `import engine` is cheap and does not pull in torch until a model
name is used.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "Event": "events", "Vocabulary": "events",
    "PerformanceConfig": "configs", "HParams": "configs", "CONFIGS": "configs", "get_config": "configs",
    "PerformanceRnnError": "errors", "ConfigError": "errors", "MidiReadError": "errors", "BundleError": "errors",
    "Performance": "performance", "NoteList": "notes", "read_midi": "midi_file", "MidiDecoder": "decoder",
    "PerformanceModel": "model", "Stepper": "stepper", "State": "stepper",
    "sample_ids": "sampling",
    "load_bundle": "bundle", "save_bundle": "bundle", "LoadedModel": "bundle", "default_bundle_path": "bundle_info",
    "latest_checkpoint": "bundle",
    "GenerationOptions": "generation", "generate": "generation", "ControlSchedule": "generation",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
