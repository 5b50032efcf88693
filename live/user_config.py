"""Where the user's files live: config dir, saved presets, MIDI-learn map, and the model folders to list."""
from __future__ import annotations

from pathlib import Path

from engine.user_dirs import BUNDLE_SUFFIXES, config_dir, models_dirs  # noqa: F401 (shared with the tools)


def user_presets_dir() -> Path:
    return config_dir() / "presets"


def midi_map_path() -> Path:
    return config_dir() / "midi_map.json"


def list_bundles() -> dict[str, Path]:
    """Model name (file stem) -> path: the shipped models first (default first), then the user folders' bundles.

    A user bundle never hides a shipped name; a later folder never hides an earlier one's name."""
    from engine.bundle_info import SHIPPED_MODELS, shipped_bundle_path

    found = {name: shipped_bundle_path(name) for name in SHIPPED_MODELS if shipped_bundle_path(name).is_file()}
    for folder in models_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in BUNDLE_SUFFIXES and path.is_file():
                found.setdefault(path.stem, path)
    return found


def resolve_model(name: str) -> Path | None:
    """A preset's `model` value -> bundle path: a listed name, or an existing file path; None if neither."""
    if not name:
        return None
    if name == "default":
        from engine.bundle_info import default_bundle_path

        return default_bundle_path()
    listed = list_bundles()
    if name in listed:
        return listed[name]
    path = Path(name).expanduser()
    return path if path.is_file() else None


from engine.atomic import atomic_write_text  # noqa: E402,F401 (presets and the MIDI map are saved with it)
