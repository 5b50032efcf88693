"""Training checkpoints in run_dir/train: bundle-format weights plus a training-state file beside each.

`model-{step:09d}.safetensors` is an ordinary bundle (engine.bundle), so generate can load it directly.
`model-{step:09d}.state.safetensors` holds the optimizer tensors and RNG state, with the step, data
position and other scalars as JSON metadata. The state file is written first and the bundle last (each
atomically), so a checkpoint counts only once its bundle exists: a kill at any moment leaves the
previous checkpoint intact.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.bundle import save_bundle
from engine.configs import PerformanceConfig
from engine.errors import PerformanceRnnError

RUN_CONFIG = "run_config.json"
_MODEL = re.compile(r"^model-(\d+)\.safetensors$")
_STATE = re.compile(r"^model-(\d+)\.state\.safetensors$")


def model_path(train_dir: Path, step: int) -> Path:
    return Path(train_dir) / f"model-{step:09d}.safetensors"


def state_path(train_dir: Path, step: int) -> Path:
    return Path(train_dir) / f"model-{step:09d}.state.safetensors"


def _steps(train_dir: Path, pattern) -> list[int]:
    if not train_dir.is_dir():
        return []
    return sorted(int(m.group(1)) for p in train_dir.iterdir() if (m := pattern.match(p.name)))


def checkpoint_steps(train_dir) -> list[int]:
    """Steps with a complete checkpoint (bundle written)."""
    return _steps(Path(train_dir), _MODEL)


@contextlib.contextmanager
def _no_partial_files(*paths: Path):
    """A write that fails (a full disk) removes what it began and becomes one line; the run resumes later
    from the last whole checkpoint."""
    from safetensors import SafetensorError

    try:
        yield
    except (OSError, SafetensorError) as err:
        for path in paths:
            path.unlink(missing_ok=True)
        reason = getattr(err, "strerror", None) or err
        raise PerformanceRnnError(f"cannot write {paths[0].parent} ({reason}); free disk space, then "
                                  "rerun the same command to resume") from None


def check_run_config(train_dir: Path, config: PerformanceConfig, create: bool) -> None:
    """A run dir belongs to one config and hparams: a rerun with others is an error naming the difference."""
    path = Path(train_dir) / RUN_CONFIG
    wanted = {"config": config.name, "hparams": config.hparams.to_dict()}
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            raise PerformanceRnnError(f"{path} is unreadable; delete it or use another --run_dir") from None
        if old.get("config") != config.name:
            raise PerformanceRnnError(f"run dir {train_dir.parent} was trained with config {old.get('config')!r}, "
                                      f"not {config.name!r}; pass --config {old.get('config')} or another --run_dir")
        diff = [f"{k}={old['hparams'].get(k)!r} (now {v!r})" for k, v in wanted["hparams"].items()
                if old["hparams"].get(k) != v]
        if diff:
            raise PerformanceRnnError(f"run dir {train_dir.parent} was trained with other hparams: "
                                      f"{', '.join(diff)}; pass the same --hparams or another --run_dir")
    elif create:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with _no_partial_files(tmp):
            tmp.write_text(json.dumps(wanted, indent=1))
            os.replace(tmp, path)


@dataclass
class TrainingState:
    """Everything besides the weights that an exact resume needs."""

    step: int
    info: dict  # JSON-able: data position, seed, tokens seen, ...
    optimizer: dict  # torch optimizer state_dict
    rng: torch.Tensor  # torch CPU RNG state


def _flatten_optimizer(state_dict: dict) -> tuple[dict, dict]:
    tensors, scalars = {}, {}
    for index, slots in state_dict["state"].items():
        for key, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict, meta: dict) -> dict:
    state: dict = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    for name, value in meta["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


class CheckpointManager:
    """Saves, finds, loads and prunes checkpoints in one train dir (keeps the newest `keep`)."""

    def __init__(self, train_dir, keep: int = 10):
        self.train_dir = Path(train_dir)
        self.keep = max(1, keep)

    def save(self, model, metadata: dict, state: TrainingState) -> Path:
        from safetensors.torch import save_file

        self.train_dir.mkdir(parents=True, exist_ok=True)
        tensors, optimizer_meta = _flatten_optimizer(state.optimizer)
        tensors["rng.torch"] = state.rng.contiguous()
        meta = {"step": str(state.step), "info": json.dumps(state.info), "optimizer": json.dumps(optimizer_meta)}
        path = state_path(self.train_dir, state.step)
        tmp = path.with_name(path.name + ".tmp")
        with _no_partial_files(tmp, path, model_path(self.train_dir, state.step).with_suffix(".safetensors.tmp")):
            save_file(tensors, str(tmp), metadata=meta)
            os.replace(tmp, path)
            bundle = save_bundle(model_path(self.train_dir, state.step), model, metadata)
        self.prune()
        return bundle

    def resumable_steps(self) -> list[int]:
        """Steps whose bundle and state file both exist, oldest first."""
        states = set(_steps(self.train_dir, _STATE))
        return [s for s in checkpoint_steps(self.train_dir) if s in states]

    def latest_resumable(self) -> int | None:
        steps = self.resumable_steps()
        return steps[-1] if steps else None

    def load_state(self, step: int) -> TrainingState:
        from safetensors.torch import load_file
        from safetensors import safe_open

        path = state_path(self.train_dir, step)
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata()
            tensors = load_file(str(path))
        except Exception as err:  # safetensors raises several types for a damaged file
            raise PerformanceRnnError(f"training state {path} is unreadable ({err}); delete that checkpoint "
                                      "pair to resume from the one before") from None
        optimizer = _unflatten_optimizer(tensors, json.loads(meta["optimizer"]))
        return TrainingState(int(meta["step"]), json.loads(meta["info"]), optimizer, tensors["rng.torch"])

    def prune(self) -> None:
        """Keep the newest `keep` checkpoints; drop older pairs, orphan state files and stale temp files."""
        steps = checkpoint_steps(self.train_dir)
        keep = set(steps[-self.keep:])
        for step in steps:
            if step not in keep:
                model_path(self.train_dir, step).unlink(missing_ok=True)
                state_path(self.train_dir, step).unlink(missing_ok=True)
        newest = steps[-1] if steps else -1
        for step in _steps(self.train_dir, _STATE):
            if step not in keep and step < newest:
                state_path(self.train_dir, step).unlink(missing_ok=True)
        for tmp in self.train_dir.glob("model-*.tmp"):
            tmp.unlink(missing_ok=True)
