"""Magenta's own pre-trained Performance RNN bundles (.mag) as models of ours, without TensorFlow.

A `.mag` file is a serialized `magenta.GeneratorBundle` (note_seq generator.proto):
  1 generator_details {1 id, 2 description}, 2 checkpoint_file (repeated bytes, one is used),
  3 metagraph_file (bytes, ignored here), 4 bundle_details {1 description}.
The checkpoint is a V1 TensorFlow checkpoint (engine.tf_checkpoint) holding, for L layers,
  rnn/multi_rnn_cell/cell_{k}/basic_lstm_cell/kernel [in_k + H_k, 4 H_k], .../bias [4 H_k],
  fully_connected/weights [H_last, C], fully_connected/biases [C].
The generator id picks the config; the kernel shapes give the layer sizes (spec §7).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import protowire as pw
from .bundle_info import bundle_metadata
from .configs import CONFIGS, PerformanceConfig
from .errors import BundleError
from .tf_checkpoint import read_checkpoint

FORGET_BIAS = 1.0  # BasicLSTMCell adds this to the f gate at run time; it is not in the stored bias
CELL = "rnn/multi_rnn_cell/cell_{}/basic_lstm_cell/"
FC_WEIGHTS, FC_BIASES = "fully_connected/weights", "fully_connected/biases"
# Training-only state that a bundle exported from a training graph might carry; never used.
_IGNORED = re.compile(r"(^|/)(global_step|beta[12]_power)$|/Adam(_\d+)?$")
# TF 1.0-1.1 named the cell variables weights/biases; TF 1.2 (May 2017) renamed them kernel/bias.
_OLD_CELL_NAME = re.compile(r"^(rnn/multi_rnn_cell/cell_\d+/basic_lstm_cell/)(weights|biases)$")
# TF packs the gates as (i, j, f, o), PyTorch as (i, f, g, o) with g = j.
TF_TO_TORCH_GATES = (0, 2, 1, 3)


def _configs_by_generator_id() -> dict[str, PerformanceConfig]:
    """Magenta writes config.id into bundles; the compact config shares its id and weights with the
    one-hot one, so the one-hot config (the first listed) is the one a bundle loads as."""
    by_id = {}
    for config in CONFIGS.values():
        by_id.setdefault(config.id, config)
    return by_id


@dataclass(frozen=True)
class MagBundle:
    generator_id: str
    description: str
    checkpoint: bytes
    metagraph_size: int
    bundle_description: str


def parse_bundle(data: bytes, source: str) -> MagBundle:
    """GeneratorBundle bytes -> its fields; anything else raises a one-line BundleError."""
    not_bundle = f"{source} is not a Magenta bundle (.mag GeneratorBundle)"
    try:
        fields = pw.parse(data)
        if any(wire != pw.BYTES for number in (1, 2, 3, 4) for wire, _ in fields.get(number, [])):
            raise pw.WireError("a bundle field has the wrong wire type")
        details = pw.parse(pw.first_bytes(fields, 1))
        generator_id, description = pw.text(details, 1), pw.text(details, 2)
        bundle_description = pw.text(pw.parse(pw.first_bytes(fields, 4)), 1)
    except pw.WireError as err:
        raise BundleError(f"{not_bundle}: {err}; pass a .mag file from Magenta or a bundle of ours") from None
    checkpoints = pw.all_bytes(fields, 2)
    if not generator_id or not checkpoints:
        missing = "generator id" if not generator_id else "checkpoint"
        raise BundleError(f"{not_bundle}: it has no {missing}; pass a .mag file from Magenta or a bundle of ours")
    if len(checkpoints) != 1:
        raise BundleError(f"{source} holds {len(checkpoints)} checkpoint files; Magenta bundles hold exactly one")
    return MagBundle(generator_id, description, checkpoints[0], len(pw.first_bytes(fields, 3)), bundle_description)


def config_for_generator_id(generator_id: str, source: str) -> PerformanceConfig:
    config = _configs_by_generator_id().get(generator_id)
    if config is None:
        known = ", ".join(sorted(_configs_by_generator_id()))
        raise BundleError(f"{source} is for Magenta generator {generator_id!r}, which this program cannot "
                          f"run; supported generator ids: {known}")
    return config


def _variable_list(tensors: dict) -> str:
    return ", ".join(f"{name} {list(value.shape)}" for name, value in sorted(tensors.items()))


def canonical_names(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Accept bundles saved before TF 1.2 renamed the cell's weights/biases to kernel/bias."""
    out = {}
    for name, value in tensors.items():
        match = _OLD_CELL_NAME.match(name)
        new = match.group(1) + {"weights": "kernel", "biases": "bias"}[match.group(2)] if match else name
        out[name if new in tensors else new] = value
    return out


def layer_sizes_from(tensors: dict[str, np.ndarray], source: str) -> list[int]:
    """Layer sizes from the kernels; any variable other than Magenta's BasicLSTM + linear set is refused."""
    expected, sizes = {FC_WEIGHTS, FC_BIASES}, []
    while CELL.format(len(sizes)) + "kernel" in tensors:
        bias = tensors.get(CELL.format(len(sizes)) + "bias")
        if bias is None or bias.ndim != 1 or bias.shape[0] % 4:
            break
        sizes.append(bias.shape[0] // 4)
        expected |= {CELL.format(len(sizes) - 1) + "kernel", CELL.format(len(sizes) - 1) + "bias"}
    found = {name for name in tensors if not _IGNORED.search(name)}
    if not sizes or found != expected:
        raise BundleError(f"{source} does not hold a Performance RNN made of BasicLSTMCell layers and a linear "
                          f"output (e.g. a cuDNN-trained or attention model); variables found: "
                          f"{_variable_list(tensors)}")
    return sizes


def _check_shape(tensors: dict, name: str, shape: tuple, config: PerformanceConfig, source: str) -> np.ndarray:
    value = tensors[name]
    if tuple(value.shape) != tuple(shape):
        raise BundleError(f"{source}: variable {name} has shape {list(value.shape)}, but generator "
                          f"{config.id!r} with layers {list(config.hparams.rnn_layer_sizes)} needs {list(shape)} "
                          f"(input size {config.input_size}, {config.num_classes} classes); variables found: "
                          f"{_variable_list(tensors)}")
    return np.asarray(value, np.float32)


def _reorder_gates(rows: np.ndarray, hidden: int) -> np.ndarray:
    """Gate blocks along axis 0 from TF's (i, j, f, o) to PyTorch's (i, f, g, o)."""
    blocks = [rows[g * hidden:(g + 1) * hidden] for g in range(4)]
    return np.concatenate([blocks[g] for g in TF_TO_TORCH_GATES], axis=0)


def map_weights(tensors: dict[str, np.ndarray], config: PerformanceConfig, source: str) -> dict[str, np.ndarray]:
    """TF variables -> our PerformanceModel state dict (layout documented in engine/model.py).

    BasicLSTMCell computes [x, h] @ kernel + bias, so kernel.T splits into the input columns (first)
    and the recurrent columns; TF's run-time forget bias goes into bias_ih and bias_hh stays zero.
    """
    sizes = list(config.hparams.rnn_layer_sizes)
    inputs = [config.network_input_size] + sizes[:-1]
    weights = {}
    for k, (n_in, hidden) in enumerate(zip(inputs, sizes)):
        kernel = _check_shape(tensors, CELL.format(k) + "kernel", (n_in + hidden, 4 * hidden), config, source)
        bias = _check_shape(tensors, CELL.format(k) + "bias", (4 * hidden,), config, source)
        w = _reorder_gates(kernel.T, hidden)
        b = _reorder_gates(bias, hidden).copy()
        b[hidden:2 * hidden] += FORGET_BIAS  # the f block in PyTorch's order
        weights[f"layers.{k}.weight_ih_l0"] = np.ascontiguousarray(w[:, :n_in])
        weights[f"layers.{k}.weight_hh_l0"] = np.ascontiguousarray(w[:, n_in:])
        weights[f"layers.{k}.bias_ih_l0"] = b
        weights[f"layers.{k}.bias_hh_l0"] = np.zeros(4 * hidden, np.float32)
    fc = _check_shape(tensors, FC_WEIGHTS, (sizes[-1], config.num_classes), config, source)
    weights["head.weight"] = np.ascontiguousarray(fc.T)
    weights["head.bias"] = _check_shape(tensors, FC_BIASES, (config.num_classes,), config, source)
    return weights


def read_mag(path) -> tuple[PerformanceConfig, dict[str, np.ndarray], MagBundle]:
    """A .mag file -> (config with the bundle's layer sizes, our weights, the bundle's fields)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise BundleError(f"cannot read bundle {path}: {err.strerror}; pass an existing --bundle_file") from None
    bundle = parse_bundle(data, str(path))
    config = config_for_generator_id(bundle.generator_id, str(path))
    try:
        tensors = read_checkpoint(bundle.checkpoint)
    except BundleError as err:
        raise BundleError(f"{path}: its checkpoint is unreadable ({err}); re-download the bundle") from None
    tensors = canonical_names(tensors)
    sizes = layer_sizes_from(tensors, str(path))
    config = dataclasses.replace(config, hparams=dataclasses.replace(config.hparams, rnn_layer_sizes=tuple(sizes)))
    return config, map_weights(tensors, config, str(path)), bundle


def load_mag(path) -> tuple[PerformanceConfig, dict[str, np.ndarray], dict]:
    """What engine.bundle.load_bundle needs for a .mag: (config, weights in our layout, metadata)."""
    config, weights, bundle = read_mag(path)
    meta = bundle_metadata(config, {
        "source_format": "magenta_mag", "source_file": Path(path).name,
        "magenta_generator_id": bundle.generator_id,
        "description": bundle.description or config.description,
        "bundle_description": bundle.bundle_description,
    })
    return config, weights, meta
