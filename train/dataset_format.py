"""The dataset file: one safetensors file per split, memory-mapped on read, with the examples' class ids.

Arrays (all 1-D): `ids` int16 (every example's class ids back to back), `offsets` int64 [n+1] (example i is
ids[offsets[i]:offsets[i+1]]), and per example `piece` int32 (index into the manifest's piece list),
`chunk` int32 (30 s chunk index in its piece), `stretch` int8 (index into the stretch factors),
`min_pitch` / `max_pitch` int16 (range of its notes; on-the-fly transposition keeps them in 0..127).
Transposition and the optional-conditioning flag are applied at batch time (see train/batches.py).
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.atomic import atomic_path
from engine.errors import PerformanceRnnError

FORMAT = "performance_rnn_live.dataset"
VERSION = "1"
SUFFIX = ".safetensors"
ARRAYS = {"ids": np.int16, "offsets": np.int64, "piece": np.int32, "chunk": np.int32, "stretch": np.int8,
          "min_pitch": np.int16, "max_pitch": np.int16}
_DTYPES = {"I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64}


class DatasetError(PerformanceRnnError):
    """A dataset file that is missing, truncated or not ours."""


def split_path(output_dir, split: str) -> Path:
    return Path(output_dir) / f"{split}_performances{SUFFIX}"


def write_split(path, arrays: dict[str, np.ndarray], metadata: dict) -> int:
    """Write atomically (temp file + os.replace); returns the size in bytes."""
    from safetensors.numpy import save_file

    path = Path(path)
    tensors = {name: np.ascontiguousarray(arrays[name], dtype=dtype) for name, dtype in ARRAYS.items()}
    meta = {"format": FORMAT, "version": VERSION, "info": json.dumps(metadata, sort_keys=True)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path.stat().st_size


def _read_header(path: Path) -> tuple[dict, int]:
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise DatasetError(f"{path} is truncated ({size} bytes); rebuild it with performance_rnn_create_dataset")
        (length,) = struct.unpack("<Q", head)
        if length > size - 8:
            raise DatasetError(f"{path} is truncated or not a dataset file; rebuild it with "
                               "performance_rnn_create_dataset")
        try:
            header = json.loads(f.read(length))
        except ValueError:
            raise DatasetError(f"{path} has an unreadable header; rebuild it with performance_rnn_create_dataset")
    return header, 8 + length


@dataclass
class SplitData:
    """A memory-mapped split: `example(i)` gives its class ids; `info` is the build metadata."""

    path: Path
    arrays: dict[str, np.ndarray]
    info: dict

    def __len__(self) -> int:
        return len(self.arrays["offsets"]) - 1

    def example(self, i: int) -> np.ndarray:
        offsets = self.arrays["offsets"]
        return np.asarray(self.arrays["ids"][offsets[i]:offsets[i + 1]], dtype=np.int64)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.arrays["offsets"])

    @property
    def num_events(self) -> int:
        return int(self.arrays["offsets"][-1])


def open_split(path) -> SplitData:
    """Memory-map a split file, checking that it is ours, complete and self-consistent."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"dataset file {str(path)!r} does not exist; build it with performance_rnn_create_dataset")
    header, data_start = _read_header(path)
    meta = header.pop("__metadata__", {}) or {}
    if meta.get("format") != FORMAT:
        raise DatasetError(f"{path} is not a performance_rnn_live dataset; "
                           "build one with performance_rnn_create_dataset")
    if meta.get("version") != VERSION:
        raise DatasetError(f"{path} has dataset version {meta.get('version')!r}, this code reads {VERSION!r}; "
                           "rebuild it")
    end = max((entry["data_offsets"][1] for entry in header.values()), default=0)
    if path.stat().st_size < data_start + end or set(header) != set(ARRAYS):
        raise DatasetError(f"{path} is truncated ({path.stat().st_size} bytes, expected {data_start + end}); "
                           "rebuild it with performance_rnn_create_dataset")
    arrays = {}
    for name, entry in header.items():
        dtype = _DTYPES[entry["dtype"]]
        count = int(np.prod(entry["shape"]))
        arrays[name] = np.memmap(path, dtype=dtype, mode="r", offset=data_start + entry["data_offsets"][0],
                                 shape=(count,)) if count else np.zeros(0, dtype)
    data = SplitData(path, arrays, json.loads(meta.get("info", "{}")))
    _check_consistent(data)
    return data


def _check_consistent(data: SplitData) -> None:
    offsets = data.arrays["offsets"]
    n = len(offsets) - 1
    bad = n < 0 or any(len(data.arrays[k]) != n for k in ARRAYS if k not in ("ids", "offsets"))
    if bad or (n >= 0 and (offsets[0] != 0 or offsets[-1] != len(data.arrays["ids"]))):
        raise DatasetError(f"{data.path} is inconsistent (offsets do not match the ids); rebuild it")
