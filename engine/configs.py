"""The named Performance RNN configs (Magenta's table) and their hyperparameters."""
from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass, field
from functools import cached_property

from .errors import ConfigError
from .events import Vocabulary

DENSITY_BIN_RANGES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)  # notes/s; 8 one-hot bins
DENSITY_WINDOW_SECONDS = 3.0
PITCH_WINDOW_SECONDS = 5.0
MODULO_BLOCKS = {"note_on": 5, "note_off": 5, "time_shift": 3, "velocity": 3}
ENCODINGS = ("one_hot", "compact", "modulo")


@dataclass(frozen=True)
class HParams:
    """Model and training hyperparameters; Magenta's defaults for every Performance RNN config."""

    batch_size: int = 64
    rnn_layer_sizes: tuple[int, ...] = (512, 512, 512)
    dropout_keep_prob: float = 1.0
    clip_norm: float = 3.0  # clip each gradient tensor on its own to this norm (Magenta's rule)
    learning_rate: float = 1e-3

    def __post_init__(self):
        checks = {
            "batch_size": self.batch_size >= 1,
            "rnn_layer_sizes": len(self.rnn_layer_sizes) >= 1 and all(int(s) >= 1 for s in self.rnn_layer_sizes),
            "dropout_keep_prob": 0.0 < self.dropout_keep_prob <= 1.0,
            "clip_norm": self.clip_norm > 0,
            "learning_rate": self.learning_rate > 0,
        }
        for key, ok in checks.items():
            if not ok:
                raise ConfigError(f"hparam {key} has a bad value {getattr(self, key)!r}")

    def override(self, text: str | None) -> "HParams":
        """Apply a Magenta-style string such as 'batch_size=32,rnn_layer_sizes=[256,256]'."""
        changes = parse_hparams(text)
        return dataclasses.replace(self, **changes) if changes else self

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "rnn_layer_sizes": list(self.rnn_layer_sizes)}


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside brackets, so lists survive."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "[("
        depth -= ch in "])"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_hparams(text: str | None) -> dict:
    """'k=v,...' to typed values; unknown keys and type mismatches raise ConfigError."""
    types = {f.name: f.type for f in dataclasses.fields(HParams)}
    out = {}
    for item in _split_top_level(text or ""):
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in types:
            raise ConfigError(f"unknown hparam {key!r} in --hparams; known: {', '.join(types)}")
        try:
            value = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError) as err:
            raise ConfigError(f"hparam {key} has an unreadable value {raw.strip()!r}") from err
        out[key] = _coerce(key, value)
    return out


def _coerce(key: str, value):
    default = getattr(HParams(), key)
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) for v in value):
            raise ConfigError(f"hparam {key} must be a list of ints like [512,512], not {value!r}")
        return tuple(value)
    if isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if type(value) is not type(default):
        raise ConfigError(f"hparam {key} must be {type(default).__name__}, not {value!r}")
    return value


@dataclass(frozen=True)
class PerformanceConfig:
    """One named config: event vocabulary, input encoding, control signals and hyperparameters."""

    name: str
    description: str
    generator_id: str = ""  # the id Magenta writes into bundles; defaults to name
    num_velocity_bins: int = 32
    encoding: str = "one_hot"  # one of ENCODINGS; 'compact' stores the class index, the net sees one-hot
    density_conditioning: bool = False
    pitch_conditioning: bool = False
    optional_conditioning: bool = False  # a leading 'disable' flag lets one model play unconditioned
    hparams: HParams = field(default_factory=HParams)

    @cached_property
    def vocab(self) -> Vocabulary:
        return Vocabulary(self.num_velocity_bins)

    @property
    def num_classes(self) -> int:
        return self.vocab.num_classes

    @property
    def conditioned(self) -> bool:
        return self.density_conditioning or self.pitch_conditioning

    @property
    def control_size(self) -> int:
        size = len(DENSITY_BIN_RANGES) + 1 if self.density_conditioning else 0
        size += 12 if self.pitch_conditioning else 0
        return size + (1 if self.optional_conditioning else 0)

    @property
    def event_input_size(self) -> int:
        """Floats per event in Magenta's stored input (1 for compact)."""
        if self.encoding == "compact":
            return 1
        if self.encoding == "modulo":
            return sum(v for k, v in MODULO_BLOCKS.items() if k != "velocity" or self.num_velocity_bins)
        return self.num_classes

    @property
    def event_depth(self) -> int:
        """Floats per event the network itself sees (compact is expanded to one-hot)."""
        return self.num_classes if self.encoding == "compact" else self.event_input_size

    @property
    def input_size(self) -> int:
        """Magenta's input size: controls followed by the event encoding."""
        return self.control_size + self.event_input_size

    @property
    def network_input_size(self) -> int:
        return self.control_size + self.event_depth

    @property
    def id(self) -> str:
        return self.generator_id or self.name

    def with_hparams(self, text: str | None) -> "PerformanceConfig":
        return dataclasses.replace(self, hparams=self.hparams.override(text))


def _dyn(name, description, **kw) -> PerformanceConfig:
    return PerformanceConfig(name=name, description=description, num_velocity_bins=32, **kw)


CONFIGS: dict[str, PerformanceConfig] = {
    c.name: c
    for c in (
        PerformanceConfig("performance", "Performance RNN", num_velocity_bins=0),
        _dyn("performance_with_dynamics", "Performance RNN with dynamics"),
        _dyn("performance_with_dynamics_compact", "Performance RNN with dynamics (compact input)",
             generator_id="performance_with_dynamics", encoding="compact"),
        _dyn("performance_with_dynamics_and_modulo_encoding", "Performance RNN with dynamics (modulo encoding)",
             encoding="modulo"),
        _dyn("density_conditioned_performance_with_dynamics", "Note-density-conditioned Performance RNN + dynamics",
             density_conditioning=True),
        _dyn("pitch_conditioned_performance_with_dynamics", "Pitch-histogram-conditioned Performance RNN + dynamics",
             pitch_conditioning=True),
        _dyn("multiconditioned_performance_with_dynamics", "Density- and pitch-conditioned Performance RNN + dynamics",
             density_conditioning=True, pitch_conditioning=True),
        _dyn("optional_multiconditioned_performance_with_dynamics",
             "Optionally density- and pitch-conditioned Performance RNN + dynamics",
             density_conditioning=True, pitch_conditioning=True, optional_conditioning=True),
    )
}


def get_config(name: str) -> PerformanceConfig:
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"unknown config {name!r}; choose one of: {', '.join(CONFIGS)}") from None
