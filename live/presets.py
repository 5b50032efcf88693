"""The instrument's knob state and presets: presets/*.toml (shipped) and <config>/presets/*.toml (saved).

A preset file is flat TOML: `name`, `description`, then any InstrumentState field. Fields left out keep
their defaults; `pitch_levels` left out is derived from `scale` and `root`. Unknown keys and out-of-range
values are errors naming the key and its range."""
from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ConfigError
from live.settings import CONTROLS, check
from live.scales import MAX_LEVEL, NOTE_NAMES, SCALES, check_scale, root_index, scale_levels
from live.user_config import atomic_write_text, user_presets_dir

# The controls a preset stores besides the pitch faders and the model; ranges, defaults and help: live.settings.
PRESET_CONTROLS = ("notes_per_second", "temperature", "velocity_scale", "lookahead_ms", "conditioning",
                   "count_player", "mode", "call_silence_s", "answer_s", "program", "player_program")


def _default(control_id: str):
    return field(default=CONTROLS[control_id].default)


@dataclass
class InstrumentState:
    """Everything a preset restores. The UI edits one of these; the scheduler gets it as SetControl commands.
    Each control field means what live.settings.CONTROLS says (its `help`)."""

    notes_per_second: float = _default("notes_per_second")
    temperature: float = _default("temperature")
    velocity_scale: float = _default("velocity_scale")
    lookahead_ms: float = _default("lookahead_ms")
    conditioning: bool = _default("conditioning")
    count_player: bool = _default("count_player")
    mode: str = _default("mode")
    call_silence_s: float = _default("call_silence_s")
    answer_s: float = _default("answer_s")
    program: int = _default("program")
    player_program: int = _default("player_program")
    root: str = "C"
    """Root of the scale preset, C..B."""
    scale: str = "chromatic"
    """Scale preset last applied (one of live.scales.SCALES, or 'custom' after moving a fader)."""
    pitch_levels: tuple = scale_levels("chromatic")
    """12 pitch-class fader levels C..B, each 0..8; all zero means uniform."""
    model: str = "default"
    """Bundle name from the models list, or a path."""

    def __post_init__(self):
        for name in PRESET_CONTROLS:
            setattr(self, name, check(name, getattr(self, name)))
        self.root = NOTE_NAMES[root_index(self.root)]
        if self.scale != "custom":
            check_scale(self.scale)
        self.pitch_levels = _check_levels(self.pitch_levels)

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
