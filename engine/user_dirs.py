"""Where the user's own files live: the config folder, the model folders and the takes folder.

Here in engine (not live) because both sides need them: the instrument lists and saves into these folders,
the offline tools (performance_rnn_finetune, --bundle_file=NAME) read and write the same ones.
"""
from __future__ import annotations

import os
from pathlib import Path

APP_DIR = "performance-rnn-live"
BUNDLE_SUFFIXES = (".safetensors", ".mag")


def config_dir() -> Path:
    """$PRNN_CONFIG_DIR, else $XDG_CONFIG_HOME/performance-rnn-live, else ~/.config/performance-rnn-live."""
    explicit = os.environ.get("PRNN_CONFIG_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base).expanduser() / APP_DIR


def user_models_dir() -> Path:
    """Where performance_rnn_finetune saves the models it makes."""
    return config_dir() / "models"


def models_dirs() -> list[Path]:
    """Folders scanned for bundles: every entry of $PRNN_MODELS (os.pathsep-separated), then <config>/models."""
    dirs = [Path(p).expanduser() for p in os.environ.get("PRNN_MODELS", "").split(os.pathsep) if p]
    return dirs + [user_models_dir()]


def takes_dir() -> Path:
    """Where the instrument saves recorded takes by default (one folder per session inside)."""
    return config_dir() / "takes"


def find_user_bundle(name: str) -> Path | None:
    """The first `<folder>/<name>.safetensors` (or .mag) in models_dirs(); None if there is none."""
    for folder in models_dirs():
        for suffix in BUNDLE_SUFFIXES:
            path = folder / f"{name}{suffix}"
            if path.is_file():
                return path
    return None
