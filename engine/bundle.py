"""One-file model bundles: safetensors weights plus every piece of metadata as JSON in the header.

Loading runs no code (no pickle): the JSON names the config and hparams, so the model is rebuilt from the file
alone. A sha256 over the weight bytes catches tampering that still parses. Magenta `.mag` files are handed to
engine.magenta_bundle (imported lazily). Training checkpoints use this same format.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .bundle_info import (FORMAT, FORMAT_VERSION, SHIPPED_MODELS, bundle_metadata,  # noqa: F401 (re-exported)
                          default_bundle_path, existing_bundle, resolve_bundle)
from .configs import HParams, PerformanceConfig, get_config
from .controls import user_controls
from .errors import BundleError, ConfigError
from .model import PerformanceModel

STORAGE_DTYPES = {"float32": np.float32, "float16": np.float16}
_CHECKPOINT = re.compile(r"^model-(\d+)\.safetensors$")


def _digest(tensors: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        h.update(name.encode())
        h.update(np.ascontiguousarray(tensors[name]).tobytes())
    return h.hexdigest()


def save_bundle(path, model: PerformanceModel, metadata: dict | None = None, dtype: str = "float32") -> Path:
    """Write model + metadata atomically (temp file + os.replace). dtype='float16' halves the file."""
    from safetensors.numpy import save_file

    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"bundle dtype must be one of {list(STORAGE_DTYPES)}, not {dtype!r}")
    path = Path(path)
    tensors = {k: np.ascontiguousarray(v.astype(STORAGE_DTYPES[dtype])) for k, v in model.numpy_weights().items()}
    meta = bundle_metadata(model.config, metadata)
    meta["storage_dtype"] = dtype
    header = {"metadata": json.dumps(meta), "sha256": _digest(tensors)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=header)
    return path


@dataclass
class LoadedModel:
    """A model rebuilt from a bundle, with its metadata and a cached fast Stepper."""

    config: PerformanceConfig
    model: PerformanceModel
    metadata: dict = field(default_factory=dict)
    _steppers: dict = field(default_factory=dict, repr=False)

    def stepper(self, precision: str = "float32"):
        from .stepper import Stepper

        if precision not in self._steppers:
            self._steppers[precision] = Stepper(self.model, precision)
        return self._steppers[precision]

    def event_log_probs(self, events, notes_per_second=None, pitch_class_histogram=None,
                        disable_conditioning: bool | None = None) -> np.ndarray:
        """[len(events), num_classes]: row i is the log-softmax of the prediction after reading events[0..i]
        teacher-forced from the zero state, controls held constant. With no control values given, an
        optionally-conditioned model plays unconditioned; other conditioned models take Magenta's defaults."""
        ids = self._ids(events)
        if not len(ids):
            return np.zeros((0, self.config.num_classes), np.float32)
        if disable_conditioning is None:
            disable_conditioning = (self.config.optional_conditioning and notes_per_second is None
                                    and pitch_class_histogram is None)
        controls = None
        if self.config.control_size:
            one = user_controls(self.config, notes_per_second, pitch_class_histogram, disable_conditioning)
            controls = np.tile(one, (len(ids), 1))
        return self.model.sequence_log_probs(ids, controls)

    def label_log_probs(self, events, **controls) -> np.ndarray:
        """log p(e[i+1] | e[..i]) for i = 0..n-2 (the terms of Magenta's log-likelihood)."""
        ids = self._ids(events)
        if len(ids) < 2:
            return np.zeros(0)
        table = self.event_log_probs(ids[:-1], **controls)
        return table[np.arange(len(ids) - 1), ids[1:]].astype(np.float64)  # for sums over long pieces

    def _ids(self, events) -> np.ndarray:
        vocab = self.config.vocab
        if len(events) and not np.isscalar(events[0]):
            return np.asarray([vocab.encode(e) for e in events], np.int64)
        return np.asarray(events, np.int64)


def _read_safetensors(path: Path):
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as err:  # safetensors raises several types for truncated or garbled files
        raise BundleError(f"{path} is not a readable bundle ({str(err).splitlines()[0][:120]}); "
                          "it may be truncated: re-save or re-download it") from None
    return header, tensors


def _config_from_metadata(meta: dict, path: Path) -> PerformanceConfig:
    try:
        config = get_config(meta["config"])
        hp = dict(meta["hparams"])
        hp["rnn_layer_sizes"] = tuple(hp["rnn_layer_sizes"])
        return dataclasses.replace(config, hparams=HParams(**hp))
    except (KeyError, TypeError, ConfigError) as err:
        raise BundleError(f"{path} has unusable metadata ({err}); it was not written by this program's "
                          "save_bundle") from None


def _check_config(config: PerformanceConfig, wanted: str | None) -> PerformanceConfig:
    """Magenta takes the config from the bundle; a contradicting --config is an error (compact shares weights)."""
    if wanted is None or wanted == config.name:
        return config
    other = get_config(wanted)
    if other.id != config.id or other.network_input_size != config.network_input_size:
        raise BundleError(f"bundle is for config {config.name}, but --config {wanted} was given; "
                          f"drop --config or pass --config {config.name}")
    return dataclasses.replace(other, hparams=config.hparams)


def load_bundle(path, config_name: str | None = None) -> LoadedModel:
    """Rebuild a model from a bundle (.safetensors of ours, Magenta .mag, or a shipped model's short name).
    Raises BundleError one-line."""
    path = existing_bundle(path)
    if path.suffix.lower() == ".mag":
        from .magenta_bundle import load_mag

        config, weights, meta = load_mag(path)
    else:
        header, weights = _read_safetensors(path)
        try:
            meta = json.loads(header["metadata"])
        except (KeyError, ValueError):
            raise BundleError(f"{path} has no bundle metadata; it is not a Performance RNN bundle") from None
        if meta.get("format") != FORMAT or int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise BundleError(f"{path} is format {meta.get('format')!r} v{meta.get('format_version')}, "
                              f"expected {FORMAT} v<={FORMAT_VERSION}")
        if header.get("sha256") != _digest(weights):
            raise BundleError(f"{path} failed its checksum: the weights were changed or damaged; re-save it")
        config = _config_from_metadata(meta, path)
    config = _check_config(config, config_name)
    model = PerformanceModel(config)
    model.load_weights({k: np.asarray(v, np.float32) for k, v in weights.items()})
    model.eval()
    return LoadedModel(config, model, dict(meta))


def latest_checkpoint(train_dir) -> Path | None:
    """The checkpoint `model-{step:09d}.safetensors` with the highest step in train_dir (temp files ignored)."""
    train_dir = Path(train_dir)
    if not train_dir.is_dir():
        return None
    steps = [(int(m.group(1)), p) for p in train_dir.iterdir() if (m := _CHECKPOINT.match(p.name))]
    return max(steps)[1] if steps else None
