"""A training-only LSTM path with bfloat16 matrix products (AMX/AVX-512 bf16) and fp32 state and gates.

oneDNN's LSTM gains nothing from bf16 autocast here (its backward stays as slow as fp32), while plain bf16
GEMMs run several times faster than fp32 on this CPU. So each layer is one autograd Function: the input
projection of all time steps is one big GEMM, the time loop does only the small recurrent GEMM and the
pointwise gate math, and the backward pass collects the gate gradients of all steps so that the weight and
input gradients are again single big GEMMs. The parameters are the model's own nn.LSTM tensors (PyTorch
gate order i, f, g, o), so checkpoints are unchanged; with dtype float32 it matches nn.LSTM to rounding.
"""
from __future__ import annotations

import torch
from torch import nn


def _matmul(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """a @ b in `dtype` (fp32 accumulation inside the GEMM); the result stays in `dtype`."""
    return a.to(dtype) @ b.to(dtype)


class LstmLayer(torch.autograd.Function):
    """x [T,B,I] -> h [T,B,H] (in `dtype`) from a zero state; saves the gate activations for backward.

    Cell state and gate math are fp32; h and the gate gradients are stored in `dtype` because GEMMs are
    their only consumers (this is where the time goes: conversions cost as much as the small GEMMs)."""

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, bias, dtype):
        steps, batch, _ = x.shape
        hidden = w_hh.shape[1]
        w_hh_t = w_hh.t().to(dtype).contiguous()
        gates_in = (x.reshape(steps * batch, -1).to(dtype) @ w_ih.t().to(dtype)).float().add_(bias)
        gates_in = gates_in.view(steps, batch, -1)
        acts = torch.empty_like(gates_in)  # i, f, g, o after their nonlinearities
        cells = gates_in.new_zeros(steps + 1, batch, hidden)  # cells[0] is the initial state
        tanh_cells = gates_in.new_empty(steps, batch, hidden)
        hs = x.new_zeros(steps + 1, batch, hidden, dtype=dtype)
        for t in range(steps):
            gates = gates_in[t].add(hs[t] @ w_hh_t) if t else gates_in[t]
            act = acts[t]
            torch.sigmoid(gates, out=act)
            torch.tanh(gates[:, 2 * hidden:3 * hidden], out=act[:, 2 * hidden:3 * hidden])
            i, f, g, o = act.chunk(4, dim=1)
            torch.addcmul(i * g, f, cells[t], out=cells[t + 1])
            torch.tanh(cells[t + 1], out=tanh_cells[t])
            torch.mul(o, tanh_cells[t], out=hs[t + 1])
        ctx.dtype = dtype
        ctx.save_for_backward(x, w_ih, w_hh, acts, cells, tanh_cells, hs)
        return hs[1:]

    @staticmethod
    def backward(ctx, grad_h):
        x, w_ih, w_hh, acts, cells, tanh_cells, hs = ctx.saved_tensors
        dtype = ctx.dtype
        steps, batch, _ = x.shape
        hidden = w_hh.shape[1]
        w_hh_d = w_hh.to(dtype)
        d_gates = acts.new_empty(acts.shape, dtype=dtype)
        dh_next = None
        dc = acts.new_zeros(batch, hidden)
        for t in reversed(range(steps)):
            dh = grad_h[t].float() if dh_next is None else dh_next.add_(grad_h[t])
            i, f, g, o = acts[t].chunk(4, dim=1)
            tc = tanh_cells[t]
            dc = dc.addcmul_(dh * o, 1 - tc * tc)
            di, df, dg, do = d_gates[t].chunk(4, dim=1)
            torch.mul(dc * g, i * (1 - i), out=di)
            torch.mul(dc * cells[t], f * (1 - f), out=df)
            torch.mul(dc * i, 1 - g * g, out=dg)
            torch.mul(dh * tc, o * (1 - o), out=do)
            dc = dc.mul_(f)
            if t:
                dh_next = (d_gates[t] @ w_hh_d).float()
        flat = d_gates.view(steps * batch, -1)
        d_x = (flat @ w_ih.to(dtype)).view(x.shape).to(x.dtype)
        d_w_ih = (flat.t() @ x.reshape(steps * batch, -1).to(dtype)).float()
        d_w_hh = (d_gates[1:].reshape(-1, 4 * hidden).t() @ hs[1:steps].reshape(-1, hidden)).float()
        return d_x, d_w_ih, d_w_hh, flat.sum(0, dtype=torch.float32), None


class FastTrainNet(nn.Module):
    """Wraps a PerformanceModel for training: same parameters and outputs as its forward (logits only)."""

    def __init__(self, model: nn.Module, dtype: torch.dtype = torch.bfloat16):
        super().__init__()
        self.model = model
        self.dtype = dtype

    def forward(self, ids: torch.Tensor, controls: torch.Tensor | None = None) -> torch.Tensor:
        model = self.model
        x = model.network_input(ids, controls).transpose(0, 1).contiguous()  # [T, B, I]
        for layer in model.layers:
            bias = layer.bias_ih_l0 + layer.bias_hh_l0
            x = model.dropout(LstmLayer.apply(x, layer.weight_ih_l0, layer.weight_hh_l0, bias, self.dtype))
        out = x.transpose(0, 1)
        head = model.head
        logits = _matmul(out.reshape(-1, out.shape[-1]), head.weight.t(), self.dtype).float() + head.bias
        return logits.view(out.shape[0], out.shape[1], -1)
