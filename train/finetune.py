"""performance_rnn_finetune's pipeline: takes -> dataset (temp dir) -> warm-started training within a time
budget -> held-out evaluation of base and fine-tuned -> a bundle in the user's models folder.

The split is by take (a take's chunks never sit on both sides); a single take is cut in time instead.
"""
from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.bundle import SHIPPED_MODELS, load_bundle, save_bundle
from engine.errors import PerformanceRnnError
from engine.user_dirs import user_models_dir

from .checkpoints import checkpoint_steps, model_path
from .dataset_build import BuildSettings, SourceResult, process_piece
from .dataset_cli import write_dataset
from .dataset_format import open_split, split_path
from .distributed import DistInfo
from .sources import Source
from .takes import Take, collect_takes
from .trainer import Trainer, TrainSettings
from .warm_start import FINETUNE_LEARNING_RATE, warm_start_config

MIN_PLAYING_SECONDS = 120.0
HELDOUT_FRACTION = 0.2
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass
class FinetuneSettings:
    takes: Path
    base: str
    name: str
    minutes: float = 10.0
    overwrite: bool = False
    config: str | None = None  # must match the base's config when given
    batch_size: int = 16  # small: a few minutes of music make few examples, and more steps fit the budget
    learning_rate: float = FINETUNE_LEARNING_RATE
    max_steps: int = 0  # 0 = until the time budget is spent
    seed: int = 0
    models_dir: Path | None = None  # default: the user's models folder
    on_step: callable = field(default=None, repr=False)  # on_step(step, seconds)
    log: callable = field(default=lambda *a, **k: None, repr=False)


@dataclass
class FinetuneResult:
    path: Path
    base_nll: float
    nll: float
    steps: int
    train_takes: int
    heldout_takes: int
    playing_seconds: float

    @property
    def improvement(self) -> float:
        return 1.0 - self.nll / self.base_nll


def output_path(s: FinetuneSettings) -> Path:
    """Where the model goes; refuses a bad name, a shipped model's name, and an existing one unasked."""
    if not _NAME.match(s.name):
        raise PerformanceRnnError(f"--name {s.name!r} must be a plain file name (letters, digits, . _ -)")
    if s.name in SHIPPED_MODELS or s.name == "default":
        raise PerformanceRnnError(f"--name {s.name!r} is a shipped model's name; choose another")
    path = Path(s.models_dir or user_models_dir()) / f"{s.name}.safetensors"
    if path.exists() and not s.overwrite:
        raise PerformanceRnnError(f"a model named {s.name!r} exists ({path}); pass --overwrite to replace it "
                                  "or choose another --name")
    return path


def split_takes(takes: list[Take]) -> tuple[list[Take], list[Take]]:
    """(training, held-out): every 5th take is held out (at least one); one take: its last fifth."""
    if len(takes) == 1:
        take = takes[0]
        cut = take.seconds * (1 - HELDOUT_FRACTION)
        early = take.notes.start < cut
        late = take.notes.select(~early)
        late = late.with_times(late.start - cut, late.end - cut)
        return [Take(take.path, take.notes.select(early))], [Take(take.path, late)]
    every = max(2, round(1 / HELDOUT_FRACTION))
    held = set(range(every // 2, len(takes), every)) or {len(takes) - 1}
    return ([t for i, t in enumerate(takes) if i not in held], [t for i, t in enumerate(takes) if i in held])


def build_dataset(folder: Path, config_name: str, training: list[Take], heldout: list[Take]) -> Path:
    """The usual dataset (30 s chunks, stretch and transposition on the training side) written to folder."""
    settings = BuildSettings(config_name)
    results = []
    for split, takes in (("training", training), ("eval", heldout)):
        for take in takes:
            source = Source("midi", str(take.path))
            results.append(SourceResult(source, [process_piece(settings, source, "", take.notes, split)]))
    folder.mkdir(parents=True, exist_ok=True)
    write_dataset(folder, settings, results, 0.0)
    return folder


def heldout_nll(loaded, dataset: Path) -> float:
    """Mean negative log-likelihood per event over the held-out examples (unconditioned if optional)."""
    data = open_split(split_path(dataset, "eval"))
    total, count = 0.0, 0
    for i in range(len(data)):
        terms = loaded.label_log_probs(data.example(i))
        total, count = total - float(terms.sum()), count + len(terms)
    if not count:
        raise PerformanceRnnError("the held-out takes gave no examples; record longer takes")
    return total / count


def _too_little(takes: list[Take], folder: Path) -> None:
    playing = sum(t.seconds for t in takes)
    if playing < MIN_PLAYING_SECONDS:
        raise PerformanceRnnError(f"only {playing:.0f} s of playing in {folder} ({len(takes)} takes); record about "
                                  f"{MIN_PLAYING_SECONDS - playing:.0f} s more: fine-tuning needs at least "
                                  f"{MIN_PLAYING_SECONDS / 60:.0f} minutes")


def finetune(s: FinetuneSettings) -> FinetuneResult:
    if not s.minutes > 0:
        raise PerformanceRnnError(f"--minutes must be > 0, not {s.minutes!r}")
    out = output_path(s)
    config = warm_start_config(s.base, s.config, f"batch_size={s.batch_size},learning_rate={s.learning_rate}")
    takes = collect_takes(s.takes)
    _too_little(takes, Path(s.takes))
    training, heldout = split_takes(takes)
    with tempfile.TemporaryDirectory(prefix="prnn-finetune-") as tmp:
        dataset = build_dataset(Path(tmp) / "data", config.name, training, heldout)
        run_dir = Path(tmp) / "run"
        settings = TrainSettings(config, run_dir, split_path(dataset, "training"), s.max_steps, "cpu", s.seed,
                                 num_checkpoints=1, summary_frequency=10 ** 9, checkpoint_every_seconds=1e9,
                                 warm_start_bundle=s.base, log=s.log, max_seconds=s.minutes * 60,
                                 on_step=s.on_step)
        trainer = Trainer(settings, DistInfo())
        trainer.run()
        tuned = load_bundle(model_path(run_dir / "train", checkpoint_steps(run_dir / "train")[-1]))
        base = load_bundle(s.base, config.name)
        base_nll, nll = heldout_nll(base, dataset), heldout_nll(tuned, dataset)
    result = FinetuneResult(out, base_nll, nll, trainer.step, len(training), len(heldout),
                            sum(t.seconds for t in takes))
    output_path(s)  # a model of that name may have appeared meanwhile (e.g. a second fine-tune)
    save_bundle(out, tuned.model, _metadata(s, base, tuned, result, time.time()))
    return result


def _metadata(s: FinetuneSettings, base, tuned, r: FinetuneResult, now: float) -> dict:
    return {**{k: v for k, v in tuned.metadata.items() if k in ("warm_start", "training_steps")},
            "description": f"{s.name}: {base.metadata.get('description') or s.base} fine-tuned on "
                           f"{r.playing_seconds / 60:.1f} min of the player's takes",
            "license": base.metadata.get("license", ""),
            "training_data": f"the player's takes in {s.takes} ({r.train_takes} for training, {r.heldout_takes} "
                             f"held out) on top of: {base.metadata.get('training_data', s.base)}",
            "eval_metrics": {"heldout_nll": r.nll, "heldout_nll_base": r.base_nll},
            "finetune": {"base": str(s.base), "minutes": s.minutes, "steps": r.steps, "created": now}}
