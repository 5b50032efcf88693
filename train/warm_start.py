"""Fine-tuning from a bundle (--warm_start_bundle_file): its config and architecture, fine-tuning defaults,
and a record in the run directory of where the run started.

Defaults (each overridable: --hparams learning_rate=..., --num_training_steps=...):
- learning_rate FINETUNE_LEARNING_RATE, a third of Magenta's 1e-3: a bigger step on a few minutes of music
  forgets what the base model knew before it learns the new style;
- FINETUNE_STEPS steps (a from-scratch run has no step limit).
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
from pathlib import Path

from engine.atomic import atomic_write_text
from engine.bundle import LoadedModel, load_bundle, resolve_bundle
from engine.configs import PerformanceConfig, parse_hparams
from engine.errors import PerformanceRnnError

FINETUNE_LEARNING_RATE = 3e-4
FINETUNE_STEPS = 1000
RECORD = "warm_start.json"


def warm_start_config(bundle, config_name: str | None, hparams_text: str = "") -> PerformanceConfig:
    """The bundle's config and layer sizes, with the fine-tuning learning rate, then --hparams on top.
    A --config of another kind, or --hparams changing the layers, is a one-line error."""
    loaded = load_bundle(bundle, config_name)
    changes = parse_hparams(hparams_text)
    own = loaded.config.hparams
    if "rnn_layer_sizes" in changes and tuple(changes["rnn_layer_sizes"]) != own.rnn_layer_sizes:
        raise PerformanceRnnError(f"--warm_start_bundle_file {bundle} has rnn_layer_sizes "
                                  f"{list(own.rnn_layer_sizes)}; fine-tuning keeps them, drop rnn_layer_sizes "
                                  "from --hparams")
    hparams = dataclasses.replace(own, **{"learning_rate": FINETUNE_LEARNING_RATE, **changes})
    return dataclasses.replace(loaded.config, hparams=hparams)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def start_record(spec, loaded: LoadedModel, config: PerformanceConfig) -> dict:
    """What the run started from: enough to find (and check) the base model again."""
    path = resolve_bundle(spec).resolve()
    return {"bundle": str(spec), "path": str(path), "sha256": _sha256(path), "config": loaded.config.name,
            "base_training_steps": loaded.metadata.get("training_steps"),
            "base_description": loaded.metadata.get("description", ""),
            "learning_rate": config.hparams.learning_rate,
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def write_start_record(train_dir: Path, record: dict) -> Path:
    return atomic_write_text(Path(train_dir) / RECORD, json.dumps(record, indent=1))


def read_start_record(train_dir: Path) -> dict | None:
    path = Path(train_dir) / RECORD
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
