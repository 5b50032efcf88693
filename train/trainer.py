"""The training loop: padded batches, token-mean cross-entropy, Adam, per-tensor clipping, checkpoints, resume.

Randomness is a function of (seed, step, rank): the data order comes from a seeded permutation per epoch
and the torch RNG (dropout) is reseeded every step, so a resumed run continues exactly as it would have.
"""
from __future__ import annotations

import hashlib
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from engine.bundle import load_bundle
from engine.configs import PerformanceConfig
from engine.errors import PerformanceRnnError
from engine.model import PerformanceModel

from . import distributed
from .batches import BatchStream, DataPosition, example_table, make_batch
from .checkpoints import CheckpointManager, TrainingState, check_run_config
from .dataset_format import open_split
from .metrics import TAGS, MetricSums, format_metrics, metric_sums, token_losses
from .warm_start import read_start_record, start_record, write_start_record


@dataclass
class TrainSettings:
    """Everything one training run needs (the CLI fills it from flags)."""

    config: PerformanceConfig
    run_dir: Path
    dataset: Path
    num_training_steps: int = 0  # 0 = until stopped
    device: str = "cpu"
    seed: int = 0
    num_checkpoints: int = 10
    summary_frequency: int = 10
    checkpoint_every_seconds: float = 60.0
    checkpoint_every_steps: int = 0  # 0 = by time only
    bf16: bool = False  # bfloat16 autocast: ~3x faster on this CPU (AVX-512 bf16/AMX); fp32 weights
    warm_start_bundle: Path | None = None
    log: callable = field(default=print, repr=False)
    max_seconds: float = 0.0  # 0 = no time budget; else stop (and save) once this much training time passed
    on_step: callable = field(default=None, repr=False)  # on_step(step, seconds since the start): progress


class StopFlag:
    """SIGINT/SIGTERM set a flag; the loop saves a checkpoint at the end of the current step and exits."""

    def __init__(self):
        self.raised = False
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.raised = True

    def __exit__(self, *exc):
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def clip_per_tensor(parameters, clip_norm: float) -> None:
    """Magenta's rule (tf clip_by_norm on each gradient): g * clip / max(|g|, clip), tensor by tensor."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    norms = torch._foreach_norm(grads)
    scales = [clip_norm / torch.clamp(n, min=clip_norm) for n in norms]
    torch._foreach_mul_(grads, scales)


def step_seed(seed: int, step: int, rank: int) -> int:
    digest = hashlib.sha256(f"{seed}:{step}:{rank}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2 ** 63 - 1)


class Trainer:
    """One training run (one replica under torchrun)."""

    def __init__(self, settings: TrainSettings, dist_info: distributed.DistInfo):
        self.s, self.dist = settings, dist_info
        self.train_dir = Path(settings.run_dir) / "train"
        self.config = settings.config
        if self.config.hparams.batch_size % dist_info.world:
            raise PerformanceRnnError(f"batch_size {self.config.hparams.batch_size} must be divisible by the "
                                      f"{dist_info.world} replicas; change --hparams batch_size")
        check_run_config(self.train_dir, self.config, create=False)
        self.data = open_split(settings.dataset)
        if self.data.info.get("config") != self.config.name:
            raise PerformanceRnnError(f"{settings.dataset} was built for config {self.data.info.get('config')!r}, "
                                      f"not {self.config.name!r}; pass the matching --config")
        self.table = example_table(self.config, self.data)
        check_run_config(self.train_dir, self.config, create=dist_info.is_main)
        torch.manual_seed(step_seed(settings.seed, -1, 0))  # the initial weights depend on the seed only
        self.model = PerformanceModel(self.config).to(settings.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.config.hparams.learning_rate)
        self.checkpoints = CheckpointManager(self.train_dir, settings.num_checkpoints)
        self.step, self.tokens_seen = 0, 0
        position = self._restore()
        self.stream = BatchStream(len(self.table), self.config.hparams.batch_size, settings.seed, position,
                                  dist_info.rank, dist_info.world)
        self.net = distributed.wrap(self.model, dist_info, settings.device)
        self.writer = None

    def _newest_intact(self):
        """(step, bundle, state) of the newest checkpoint that loads; damaged newer ones are named and skipped
        (a run killed mid-write, a full disk)."""
        for step in reversed(self.checkpoints.resumable_steps()):
            try:
                loaded = load_bundle(self.checkpoints.train_dir / f"model-{step:09d}.safetensors")
                return step, loaded, self.checkpoints.load_state(step)
            except PerformanceRnnError as err:
                self.s.log(f"warning: skipping the damaged checkpoint at step {step}: {err}")
        return None, None, None

    def _restore(self) -> DataPosition:
        step, loaded, state = self._newest_intact()
        if step is None:
            if self.s.warm_start_bundle:
                self._warm_start(self.s.warm_start_bundle)
            return DataPosition()
        self.model.load_state_dict(loaded.model.state_dict())
        self.optimizer.load_state_dict(state.optimizer)
        torch.set_rng_state(state.rng)
        self.step, self.tokens_seen = state.step, int(state.info.get("tokens_seen", 0))
        self.s.log(f"resuming from step {step} ({self.checkpoints.train_dir})")
        if state.info.get("examples") != len(self.table):
            self.s.log(f"warning: the dataset changed since step {step} "
                       f"({state.info.get('examples')} -> {len(self.table)} examples); data order restarts")
            return DataPosition()
        return DataPosition(int(state.info["epoch"]), int(state.info["index"]))

    def _warm_start(self, path: Path) -> None:
        """Magenta's --warm_start_bundle_file: weights only; step, optimizer and data start fresh. The run
        directory records the start (warm_start.json), and so does every checkpoint's metadata."""
        loaded = load_bundle(path, self.config.name)
        try:
            self.model.load_weights(loaded.model.state_dict())
        except PerformanceRnnError as err:
            raise PerformanceRnnError(f"--warm_start_bundle_file {path}: {err}") from None
        if self.dist.is_main:
            write_start_record(self.train_dir, start_record(path, loaded, self.config))
        self.s.log(f"warm start from {path}")

    def _train_step(self) -> MetricSums:
        torch.manual_seed(step_seed(self.s.seed, self.step, self.dist.rank))
        batch = make_batch(self.config, self.data, self.table, self.stream.next_rows()).to(self.s.device)
        tokens = distributed.all_sum(self.dist, torch.tensor([float(batch.num_tokens)])).item()
        device_type = "cuda" if self.s.device.startswith("cuda") else "cpu"
        # bf16 autocast runs oneDNN's LSTM and the head in bfloat16 (AMX here); weights and Adam stay fp32
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.s.bf16):
            logits, _ = self.net(batch.inputs, batch.controls)
        losses = token_losses(logits, batch.labels)
        # DDP averages gradients over replicas, so scale to make the result the global token mean.
        loss = losses.sum() * (self.dist.world / max(tokens, 1.0))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip_per_tensor(self.model.parameters(), self.config.hparams.clip_norm)
        self.optimizer.step()
        self.step += 1
        self.tokens_seen += int(tokens)
        return metric_sums(self.config, logits.detach(), batch.labels, losses.detach())

    def save(self, metrics: dict | None = None) -> None:
        if not self.dist.is_main:
            return
        position = self.stream.position
        info = {"epoch": position.epoch, "index": position.index, "seed": self.s.seed,
                "tokens_seen": self.tokens_seen, "examples": len(self.table), "dataset": str(self.s.dataset),
                "world_size": self.dist.world}
        state = TrainingState(self.step, info, self.optimizer.state_dict(), torch.get_rng_state())
        extra = {"training_steps": self.step, "train_metrics": metrics or {}}
        started = read_start_record(self.train_dir)
        if started:
            extra["warm_start"] = started
        self.checkpoints.save(self.model, extra, state)

    def _summary(self, sums: MetricSums, seconds: float, tokens: int) -> dict:
        total = MetricSums.from_tensor(distributed.all_sum(self.dist, sums.as_tensor()))
        values = total.values()
        speed = tokens / max(seconds, 1e-9)
        if self.dist.is_main:
            self.s.log(format_metrics(self.step, values, f", {speed:,.0f} tokens/s"))
            for key, tag in TAGS.items():
                self.writer.add_scalar(tag, values[key], self.step)
            self.writer.add_scalar("tokens_per_second", speed, self.step)
            self.writer.flush()
        return values

    def _open_writer(self):
        if self.dist.is_main:
            from torch.utils.tensorboard import SummaryWriter

            # purge_step drops the points a killed run logged after its last checkpoint (steps > self.step)
            self.writer = SummaryWriter(str(self.train_dir), purge_step=self.step + 1 if self.step else None)

    def _done(self, started: float | None = None) -> bool:
        if started is not None and self.s.max_seconds:
            over = time.monotonic() - started >= self.s.max_seconds
            if distributed.any_true(self.dist, over):  # replicas' clocks differ: all stop at the same step
                return True
        return bool(self.s.num_training_steps) and self.step >= self.s.num_training_steps

    def run(self) -> dict:
        """Train until num_training_steps (or a signal); returns the last summary's metrics."""
        self._open_writer()
        values, window, window_tokens = {}, MetricSums(), 0
        last_save, window_start, saved_step = time.monotonic(), time.monotonic(), self.step
        started = time.monotonic()
        if self._done():
            self.s.log(f"already trained {self.step} steps (--num_training_steps {self.s.num_training_steps})")
        with StopFlag() as stop:
            while not self._done(started):
                sums = self._train_step()
                if self.s.on_step is not None:
                    self.s.on_step(self.step, time.monotonic() - started)
                window, window_tokens = window + sums, window_tokens + sums.tokens * self.dist.world
                if self.step % self.s.summary_frequency == 0:
                    values = self._summary(window, time.monotonic() - window_start, window_tokens)
                    window, window_tokens, window_start = MetricSums(), 0, time.monotonic()
                if distributed.any_true(self.dist, stop.raised):
                    self.s.log(f"stopping at step {self.step}: saving a checkpoint")
                    break
                due = time.monotonic() - last_save >= self.s.checkpoint_every_seconds
                every = self.s.checkpoint_every_steps
                if (every and self.step % every == 0) or (not every and due):
                    self.save(values)
                    last_save, saved_step = time.monotonic(), self.step
            if self.step != saved_step or self.checkpoints.latest_resumable() is None:
                self.save(values)
        if self.writer:
            self.writer.close()
        return values

    def weights_digest(self) -> str:
        h = hashlib.sha256()
        for name, value in sorted(self.model.state_dict().items()):
            h.update(name.encode())
            h.update(np.ascontiguousarray(value.detach().cpu().numpy()).tobytes())
        return h.hexdigest()
