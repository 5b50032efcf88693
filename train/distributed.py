"""torchrun support: process group from the environment torchrun sets, and small collective helpers.

Run the ordinary training command under `torchrun --nproc_per_node=N` (or several nodes): each process
trains on its interleaved slice of every global batch and DistributedDataParallel averages the gradients.
Without torchrun's variables everything here is a no-op on a single process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device: str) -> DistInfo:
    """Join the process group torchrun describes (gloo on CPU, nccl on GPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistInfo(rank, world, local_rank)


def teardown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def all_sum(info: DistInfo, tensor: torch.Tensor) -> torch.Tensor:
    """Sum a small tensor over all replicas (a copy on the CPU: gloo and nccl both take it via device)."""
    if not info.enabled:
        return tensor
    out = tensor.clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


def any_true(info: DistInfo, flag: bool, device="cpu") -> bool:
    """True if any replica says so (used to stop all replicas at the same step)."""
    if not info.enabled:
        return flag
    return bool(all_sum(info, torch.tensor([float(flag)], device=device)).item() > 0)


def wrap(model: torch.nn.Module, info: DistInfo, device: str) -> torch.nn.Module:
    if not info.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [info.local_rank] if device.startswith("cuda") else None
    return DistributedDataParallel(model, device_ids=ids)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()
