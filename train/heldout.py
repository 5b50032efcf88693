"""Any folder (or file, or glob) of MIDI as an in-memory eval split: Magenta's pipeline without augmentation,
so `performance_rnn_evaluate --midi_dir` scores performances that were never made into a dataset."""
from __future__ import annotations

from pathlib import Path

from engine.errors import PerformanceRnnError

from .dataset_build import BuildSettings, process_source
from .dataset_format import SplitData
from .sources import resolve_inputs


def midi_eval_split(spec: str, config_name: str, exclude: tuple[str, ...] = ()) -> SplitData:
    from .dataset_cli import assemble

    settings = BuildSettings(config_name, eval_ratio=1.0)  # every piece is eval: no stretch, no transposition
    results = [process_source(settings, source) for source in resolve_inputs(spec, exclude)]
    arrays, pieces = assemble(results, "eval")
    if not pieces:
        reasons = "; ".join(r.message for r in results if r.skipped)[:200] or "no chunk of 32+ events"
        raise PerformanceRnnError(f"no usable performance in --midi_dir {spec!r} ({reasons}); give MIDI files "
                                  "with notes")
    return SplitData(Path(spec), arrays, {"config": config_name, "split": "eval", "pieces": pieces})
