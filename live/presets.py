"""The instrument's knob state and presets: presets/*.toml (shipped) and <config>/presets/*.toml (saved).

A preset file is flat TOML: `name`, `description`, then any InstrumentState field. Fields left out keep
their defaults; `pitch_levels` left out is derived from `scale` and `root`. Unknown keys are errors."""
from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ConfigError
from live.commands import MODES
from live.scales import MAX_LEVEL, NOTE_NAMES, SCALES, check_scale, root_index, scale_levels
from live.user_config import atomic_write_text, user_presets_dir

# Knob ranges (low, high, step): the one table the knobs, the presets and MIDI learn all read.
KNOB_RANGES: dict[str, tuple[float, float, float]] = {
    "notes_per_second": (0.0, 20.0, 0.5),
    "temperature": (0.1, 2.0, 0.05),
    "velocity_scale": (0.0, 2.0, 0.05),
    "lookahead_ms": (20.0, 500.0, 10.0),
    "call_silence_s": (0.2, 4.0, 0.1),
    "answer_s": (0.0, 16.0, 0.5),  # 0: answer as long as the call was
}


@dataclass
class InstrumentState:
    """Everything a preset restores. The UI edits one of these; the scheduler gets it as commands."""

    notes_per_second: float = 0.0
    """Density in notes per second (conditioning plus sampling-time steering); 0 means off: no steering, and
    the model keeps its own pace (unconditioned with no scale; else its density input follows the music's)."""
    temperature: float = 1.0
    """Sampling temperature: below 1 safer and more repetitive, above 1 wilder."""
    velocity_scale: float = 1.0
    """Multiplies the model's velocities (1 = as generated)."""
    lookahead_ms: float = 100.0
    """How far the model runs ahead of the clock; knob changes are heard after about this long."""
    conditioning: bool = True
    """Send density and pitch conditioning to the model at all."""
    root: str = "C"
    """Root of the scale preset, C..B."""
    scale: str = "chromatic"
    """Scale preset last applied (one of live.scales.SCALES, or 'custom' after moving a fader)."""
    pitch_levels: tuple = scale_levels("chromatic")
    """12 pitch-class fader levels C..B, each 0..8; all zero means uniform."""
    mode: str = "solo"
    """solo, duet, call (call and response) or mute."""
    call_silence_s: float = 0.8
    """Call and response: the player's silence that starts the model's answer."""
    answer_s: float = 4.0
    """Call and response: how long the model answers (0: as long as the call)."""
    model: str = "default"
    """Bundle name from the models list, or a path."""

    def __post_init__(self):
        for name, (low, high, _) in KNOB_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise ConfigError(f"{name} must be a number in range {low:g}..{high:g}, not {value!r}")
            setattr(self, name, float(value))
        self.root = NOTE_NAMES[root_index(self.root)]
        if self.scale != "custom":
            check_scale(self.scale)
        self.pitch_levels = _check_levels(self.pitch_levels)
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if not isinstance(self.conditioning, bool):
            raise ConfigError(f"conditioning must be true or false, not {self.conditioning!r}")

    def replace(self, **changes) -> "InstrumentState":
        return dataclasses.replace(self, **changes)


def _check_levels(levels) -> tuple:
    try:
        values = tuple(int(v) for v in levels)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 12 or not all(0 <= v <= MAX_LEVEL for v in values):
        raise ConfigError(f"pitch_levels must be 12 integers 0..{MAX_LEVEL} (C..B), not {levels!r}")
    return values


@dataclass
class Preset:
    name: str
    description: str = ""
    state: InstrumentState = field(default_factory=InstrumentState)
    path: Path | None = None


_STATE_FIELDS = {f.name for f in dataclasses.fields(InstrumentState)}


def preset_from_dict(data: dict, source: str = "preset") -> Preset:
    unknown = sorted(set(data) - _STATE_FIELDS - {"name", "description"})
    if unknown:
        raise ConfigError(f"unknown preset key {unknown[0]!r} in {source}; known: "
                          f"name, description, {', '.join(sorted(_STATE_FIELDS))}")
    values = {k: v for k, v in data.items() if k in _STATE_FIELDS}
    if "pitch_levels" not in values and values.get("scale", "chromatic") != "custom":
        values["pitch_levels"] = scale_levels(values.get("scale", "chromatic"), values.get("root", "C"))
    name = str(data.get("name") or Path(source).stem)
    return Preset(name, str(data.get("description", "")), InstrumentState(**values))


def load_preset(path) -> Preset:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read preset {path}: {err.strerror}") from err
    except UnicodeDecodeError:
        raise ConfigError(f"preset {path} is not UTF-8 text; skipped (re-save it as UTF-8 or delete it)") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"preset {path} is not valid TOML ({err}); fix or delete it") from err
    try:
        preset = preset_from_dict(data, str(path))
    except ConfigError as err:
        raise ConfigError(f"{err} (in {path})") from None
    preset.path = path
    return preset


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def preset_to_toml(preset: Preset) -> str:
    lines = [f"name = {_toml_value(preset.name)}", f"description = {_toml_value(preset.description)}"]
    for key, value in dataclasses.asdict(preset.state).items():
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def slug(name: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text or "preset"


def save_preset(preset: Preset, folder: Path | None = None) -> Path:
    """Write to <folder or user presets dir>/<slug>.toml atomically; never overwrites: adds -2, -3, ..."""
    folder = Path(folder) if folder is not None else user_presets_dir()
    path = folder / f"{slug(preset.name)}.toml"
    n = 2
    while path.exists():
        path = folder / f"{slug(preset.name)}-{n}.toml"
        n += 1
    preset.path = atomic_write_text(path, preset_to_toml(preset))
    return preset.path


def shipped_presets_dir() -> Path:
    """presets/ at the repository root; an installed package carries a copy in live/presets/."""
    root = Path(__file__).resolve().parent.parent / "presets"
    return root if root.is_dir() else Path(__file__).resolve().parent / "presets"


def discover_presets(folders=None, errors: list | None = None) -> list[Preset]:
    """Shipped presets (sorted by file name), then the user's saved ones; number keys index this list.
    With an `errors` list, a bad file is skipped and its message appended there instead of raised."""
    folders = folders if folders is not None else [shipped_presets_dir(), user_presets_dir()]
    found = []
    for folder in folders:
        folder = Path(folder)
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            try:
                found.append(load_preset(path))
            except ConfigError as err:
                if errors is None:
                    raise
                errors.append(str(err))
    return found


def known_scales() -> list[str]:
    return list(SCALES)
