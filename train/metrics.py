"""Magenta's training/eval metrics as token-weighted sums that add up across batches and replicas."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F

from engine.configs import PerformanceConfig
from engine.events import KINDS as KIND_NAMES

from .batches import PAD_LABEL

# TensorBoard tags, as Magenta names them
TAGS = {"loss": "loss", "perplexity": "metrics/perplexity", "accuracy": "metrics/accuracy",
        "event_accuracy": "metrics/event_accuracy", "no_event_accuracy": "metrics/no_event_accuracy",
        "loss_per_step": "metrics/loss_per_step", "perplexity_per_step": "metrics/perplexity_per_step"}


@dataclass
class MetricSums:
    """Sums over real (non-padded) label positions; `values()` turns them into Magenta's metrics."""

    loss: float = 0.0  # summed cross-entropy
    tokens: int = 0
    correct: int = 0
    events: int = 0  # labels other than the no-event class (TIME_SHIFT(100))
    events_correct: int = 0
    no_events: int = 0
    no_events_correct: int = 0
    time_steps: int = 0  # 10 ms steps covered by the TIME_SHIFT labels

    def __add__(self, other: "MetricSums") -> "MetricSums":
        return MetricSums(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_tensor(self) -> torch.Tensor:
        return torch.tensor([getattr(self, f.name) for f in fields(self)], dtype=torch.float64)

    @classmethod
    def from_tensor(cls, t: torch.Tensor) -> "MetricSums":
        values = t.tolist()
        return cls(*(v if f.name == "loss" else int(round(v)) for f, v in zip(fields(cls), values)))

    def values(self) -> dict[str, float]:
        loss = self.loss / max(self.tokens, 1)
        per_step = self.loss / max(self.time_steps, 1)
        return {"loss": loss, "perplexity": math.exp(min(loss, 700)),
                "accuracy": self.correct / max(self.tokens, 1),
                "event_accuracy": self.events_correct / max(self.events, 1),
                "no_event_accuracy": self.no_events_correct / max(self.no_events, 1),
                "loss_per_step": per_step, "perplexity_per_step": math.exp(min(per_step, 700))}


def token_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy per real label position, flattened [N] (padding dropped)."""
    mask = labels != PAD_LABEL
    return F.cross_entropy(logits[mask].float(), labels[mask], reduction="none")


@torch.no_grad()
def metric_sums(config: PerformanceConfig, logits: torch.Tensor, labels: torch.Tensor,
                losses: torch.Tensor | None = None) -> MetricSums:
    mask = labels != PAD_LABEL
    real_labels = labels[mask]
    if losses is None:
        losses = token_losses(logits, labels)
    hit = logits[mask].argmax(-1) == real_labels
    no_event = real_labels == config.vocab.no_event_id
    shift_table = torch.from_numpy(config.vocab.shift_steps(range(config.num_classes))).to(labels.device)
    return MetricSums(
        loss=float(losses.double().sum()), tokens=int(mask.sum()), correct=int(hit.sum()),
        events=int((~no_event).sum()), events_correct=int((hit & ~no_event).sum()),
        no_events=int(no_event.sum()), no_events_correct=int((hit & no_event).sum()),
        time_steps=int(shift_table[real_labels].sum()))


def format_metrics(step: int, values: dict[str, float], extra: str = "") -> str:
    return (f"step {step}: loss {values['loss']:.4f}, perplexity {values['perplexity']:.2f}, "
            f"accuracy {values['accuracy']:.4f}, event_accuracy {values['event_accuracy']:.4f}, "
            f"no_event_accuracy {values['no_event_accuracy']:.4f}{extra}")




@torch.no_grad()
def kind_loss_sums(config: PerformanceConfig, logits: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """[len(KIND_NAMES), 2]: summed cross-entropy and label count per kind of the label event."""
    mask = labels != PAD_LABEL
    losses = F.cross_entropy(logits[mask].float(), labels[mask], reduction="none").double().numpy()
    kinds = config.vocab.kind_codes[labels[mask].numpy()]
    out = np.zeros((len(KIND_NAMES), 2))
    np.add.at(out[:, 0], kinds, losses)
    np.add.at(out[:, 1], kinds, 1)
    return out


def kind_nll(sums: np.ndarray) -> dict[str, dict]:
    total = max(sums[:, 1].sum(), 1)
    return {name: {"nll": float(s / n) if n else float("nan"), "share": float(n / total)}
            for name, (s, n) in zip(KIND_NAMES, sums)}
