"""The --eval job: evaluate new checkpoints of run_dir/train on the eval split, metrics to run_dir/eval."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from engine.bundle import load_bundle
from engine.configs import PerformanceConfig
from engine.errors import BundleError, PerformanceRnnError

from . import distributed
from .batches import eval_row_batches, example_table, make_batch
from .checkpoints import check_run_config, checkpoint_steps, model_path
from .dataset_format import open_split
from .metrics import TAGS, MetricSums, format_metrics, metric_sums

METRICS_FILE = "metrics.jsonl"


@dataclass
class EvalSettings:
    config: PerformanceConfig
    run_dir: Path
    dataset: Path
    device: str = "cpu"
    once: bool = False  # evaluate the latest checkpoint and exit
    interval_seconds: float = 60.0  # how often to look for a new checkpoint (Magenta: 60)
    timeout_seconds: float = 300.0  # give up after this long without a new checkpoint (Magenta: 300)
    num_training_steps: int = 0  # stop after evaluating this step (0 = no limit)
    bf16: bool = False  # GPU only: CPU eval stays fp32 (exact metrics; forward-only is cheap)
    log: callable = field(default=print, repr=False)


class Evaluator:
    def __init__(self, settings: EvalSettings, dist_info: distributed.DistInfo):
        self.s, self.dist = settings, dist_info
        self.train_dir = Path(settings.run_dir) / "train"
        self.eval_dir = Path(settings.run_dir) / "eval"
        self.data = open_split(settings.dataset)
        if self.data.info.get("config") != settings.config.name:
            raise PerformanceRnnError(f"{settings.dataset} was built for config {self.data.info.get('config')!r}, "
                                      f"not {settings.config.name!r}; pass the matching --config")
        if not (self.train_dir / "run_config.json").is_file():
            raise PerformanceRnnError(f"no training run in {settings.run_dir}; start performance_rnn_train "
                                      "without --eval first")
        check_run_config(self.train_dir, settings.config, create=False)
        self.table = example_table(settings.config, self.data)
        if not len(self.table):
            raise PerformanceRnnError(f"{settings.dataset} has no examples to evaluate; use a larger "
                                      "--eval_ratio when building the dataset")
        self.writer = None

    @torch.no_grad()
    def evaluate(self, step: int) -> dict:
        path = model_path(self.train_dir, step)
        model = load_bundle(path).model.to(self.s.device).eval()
        config, sums = self.s.config, MetricSums()
        device_type = "cuda" if self.s.device.startswith("cuda") else "cpu"
        batches = eval_row_batches(len(self.table), config.hparams.batch_size, self.dist.rank, self.dist.world)
        for rows in batches:
            batch = make_batch(config, self.data, self.table, rows).to(self.s.device)
            with torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.s.bf16 and device_type == "cuda"):
                logits, _ = model(batch.inputs, batch.controls)
            sums = sums + metric_sums(config, logits.float(), batch.labels)
        total = MetricSums.from_tensor(distributed.all_sum(self.dist, sums.as_tensor()))
        values = total.values()
        if self.dist.is_main:
            self._record(step, values, total.tokens)
        return values

    def _record(self, step: int, values: dict, tokens: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        if self.writer is None:
            self.writer = SummaryWriter(str(self.eval_dir))
        for key, tag in TAGS.items():
            self.writer.add_scalar(tag, values[key], step)
        self.writer.flush()
        with open(self.eval_dir / METRICS_FILE, "a") as f:
            f.write(json.dumps({"step": step, "tokens": tokens, **values}) + "\n")
        self.s.log("eval " + format_metrics(step, values, f" ({tokens} tokens)"))

    def _try(self, step: int) -> bool:
        try:
            self.evaluate(step)
            return True
        except BundleError as err:  # pruned or replaced while we read it: wait for the next one
            self.s.log(f"warning: skipping checkpoint {step}: {err}")
            return False

    def run(self) -> None:
        """--eval_once: the latest checkpoint. Otherwise watch for new ones until the timeout or the last step."""
        steps = checkpoint_steps(self.train_dir)
        if self.s.once:
            if not steps:
                raise PerformanceRnnError(f"no checkpoint in {self.train_dir} yet; train first")
            self.evaluate(steps[-1])
            return self._close()
        done, last_new = -1, time.monotonic()
        while True:
            steps = [s for s in checkpoint_steps(self.train_dir) if s > done]
            if steps and self._try(steps[-1]):
                done, last_new = steps[-1], time.monotonic()
                if self.s.num_training_steps and done >= self.s.num_training_steps:
                    break
                continue
            if time.monotonic() - last_new > self.s.timeout_seconds:
                self.s.log(f"no new checkpoint for {self.s.timeout_seconds:.0f} s; eval job done")
                break
            time.sleep(self.s.interval_seconds if not steps else 1.0)
        self._close()

    def _close(self) -> None:
        if self.writer:
            self.writer.close()
