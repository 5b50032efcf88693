"""The Performance RNN network: a stack of LSTM layers and a linear head over the event classes.

Weight layout (what bundles store and what `load_weights` takes), for L layers of sizes H_k:
  layers.{k}.weight_ih_l0  [4*H_k, in_k]   in_0 = control_size + event_depth, in_k = H_{k-1}
  layers.{k}.weight_hh_l0  [4*H_k, H_k]
  layers.{k}.bias_ih_l0    [4*H_k]
  layers.{k}.bias_hh_l0    [4*H_k]
  head.weight              [num_classes, H_last]
  head.bias                [num_classes]
Gate row blocks are PyTorch's (i, f, g, o). Layer 0's input columns are [controls ‖ event encoding], controls
first, exactly Magenta's input vector (so a TF kernel maps on with a transpose and a gate reorder, spec §7).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .configs import PerformanceConfig
from .encodings import event_table
from .errors import BundleError

State = list  # [(h [1,B,H], c [1,B,H]) per layer]
SEQUENCE_CHUNK = 2048  # events per LSTM call in sequence_log_probs (measured best of 512..8192 for 3x256, 3x512)


class PerformanceModel(nn.Module):
    """LSTM stack + linear head. Input position i is [controls(i+1) ‖ event_table[ids[i]]]; the caller
    passes controls already aligned with the input positions (see `shift_controls`)."""

    def __init__(self, config: PerformanceConfig):
        super().__init__()
        self.config = config
        sizes = [int(s) for s in config.hparams.rnn_layer_sizes]
        inputs = [config.network_input_size] + sizes[:-1]
        self.layers = nn.ModuleList(nn.LSTM(i, h, batch_first=True) for i, h in zip(inputs, sizes))
        self.head = nn.Linear(sizes[-1], config.num_classes)
        self.dropout = nn.Dropout(1.0 - config.hparams.dropout_keep_prob)
        # The event encoding is a lookup table: a row gather instead of a one-hot tensor.
        self.register_buffer("event_table", torch.from_numpy(event_table(config)), persistent=False)

    @property
    def layer_sizes(self) -> list[int]:
        return [layer.hidden_size for layer in self.layers]

    def network_input(self, ids: torch.Tensor, controls: torch.Tensor | None) -> torch.Tensor:
        events = self.event_table[ids]  # [B, T, event_depth]
        if not self.config.control_size:
            return events
        if controls is None:
            raise ValueError(f"config {self.config.name} needs controls of size {self.config.control_size}")
        return torch.cat([controls.to(events.dtype), events], dim=-1)

    def forward(self, ids: torch.Tensor, controls: torch.Tensor | None = None, state: State | None = None):
        """ids [B,T] long, controls [B,T,C] (aligned with the inputs) -> (logits [B,T,num_classes], state)."""
        x = self.network_input(ids, controls)
        new_state = []
        for k, layer in enumerate(self.layers):
            x, hc = layer(x, None if state is None else state[k])
            x = self.dropout(x)
            new_state.append(hc)
        return self.head(x), new_state

    def zero_state(self, batch: int = 1) -> State:
        return [(torch.zeros(1, batch, h), torch.zeros(1, batch, h)) for h in self.layer_sizes]

    @torch.no_grad()
    def log_likelihood(self, ids, controls=None, lengths=None) -> torch.Tensor:
        """Sum of log p(ids[t+1] | ids[..t]) per sequence of a padded batch; controls [B,T,C] are the
        per-event controls (control at each event), shifted here to Magenta's alignment."""
        ids = torch.as_tensor(ids, dtype=torch.long)
        if ids.dim() == 1:
            ids = ids[None]
            controls = None if controls is None else torch.as_tensor(controls)[None]
        inputs, ctrl, labels = ids[:, :-1], shift_controls(controls), ids[:, 1:]
        logits, _ = self(inputs, ctrl)
        logp = torch.log_softmax(logits.float(), -1).gather(-1, labels[..., None])[..., 0]
        if lengths is not None:
            steps = torch.arange(labels.shape[1])[None, :]
            logp = logp * (steps < torch.as_tensor(lengths)[:, None] - 1)
        return logp.sum(dim=1)

    @torch.no_grad()
    def sequence_log_probs(self, ids, controls=None, chunk: int = SEQUENCE_CHUNK) -> np.ndarray:
        """Teacher-forced log-softmax [T, num_classes] (float32, the model's precision) of one sequence ids [T],
        controls [T,C] aligned with the inputs. The LSTM stack runs over chunks of `chunk` events with the state
        carried across, which is exactly the whole-sequence forward: chunks only keep each layer's gate buffers
        in cache (a 75k-event forward ran ~15% faster than in one piece) and bound the temporaries. The rows
        are written in place: a float64 table of 75k rows cost 0.3-0.5 s in page faults and copies alone."""
        ids = torch.as_tensor(ids, dtype=torch.long).reshape(1, -1)
        controls = None if controls is None else torch.as_tensor(controls, dtype=torch.float32).reshape(
            1, ids.shape[1], -1)
        out = torch.empty(ids.shape[1], self.config.num_classes)
        state = None
        for start in range(0, ids.shape[1], chunk):
            part = slice(start, start + chunk)
            logits, state = self(ids[:, part], None if controls is None else controls[:, part], state)
            torch.log_softmax(logits[0], -1, out=out[part])
        return out.numpy()

    def load_weights(self, weights: dict) -> None:
        """Copy a {name: array} dict (numpy or torch) into the model; names and shapes must match exactly."""
        own = self.state_dict()
        missing = sorted(set(own) - set(weights))
        extra = sorted(set(weights) - set(own))
        if missing or extra:
            raise BundleError(f"weights do not fit config {self.config.name}: missing {missing[:4]}, "
                              f"unexpected {extra[:4]}")
        for name, value in weights.items():
            tensor = torch.as_tensor(np.asarray(value) if not torch.is_tensor(value) else value)
            if tuple(tensor.shape) != tuple(own[name].shape):
                raise BundleError(f"weight {name} has shape {tuple(tensor.shape)}, but config "
                                  f"{self.config.name} needs {tuple(own[name].shape)}")
            own[name].copy_(tensor.to(own[name].dtype))

    def numpy_weights(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().float().numpy() for k, v in self.state_dict().items()}


def shift_controls(controls):
    """Per-event controls [B,T,C] -> the controls that go with inputs 0..T-2 (control of the next event)."""
    if controls is None:
        return None
    controls = torch.as_tensor(controls, dtype=torch.float32)
    return controls[:, 1:] if controls.shape[-1] else None
