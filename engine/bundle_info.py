"""What a bundle says about itself: the metadata written into its header, read back from the header alone (no
torch, no weights: cheap enough for --help and pickers), and the shipped models in engine/models by short name."""
from __future__ import annotations

import json
from pathlib import Path

from .configs import PerformanceConfig
from .errors import BundleError
from .user_dirs import find_user_bundle, models_dirs

FORMAT = "performance_rnn_live"
FORMAT_VERSION = 1

MODELS_DIR = Path(__file__).resolve().parent / "models"
SHIPPED_MODELS = ("expressive", "chorales")  # short names of the bundles in engine/models, the default first
DEFAULT_MODEL = SHIPPED_MODELS[0]


def shipped_bundle_path(name: str = DEFAULT_MODEL) -> Path:
    return MODELS_DIR / f"{name}.safetensors"


def default_bundle_path() -> Path:
    """The shipped default model (may not exist: then train one or pass a bundle)."""
    return shipped_bundle_path(DEFAULT_MODEL)


def resolve_bundle(spec) -> Path:
    """A bundle file path, the short name of a shipped model ('chorales', or 'default' for the default), or
    the name of a bundle in the user's model folders (e.g. one performance_rnn_finetune made). A path wins
    over a name, and a shipped name over a user one (as in the instrument's model list)."""
    path = Path(spec).expanduser()
    if path.exists():
        return path
    name = str(spec)
    if name == "default":
        return default_bundle_path()
    if name in SHIPPED_MODELS:
        return shipped_bundle_path(name)
    return (find_user_bundle(name) if path.name == name else None) or path


def existing_bundle(spec) -> Path:
    """resolve_bundle, then a one-line BundleError unless it is a file (None: the default model)."""
    path = resolve_bundle("default" if spec is None else spec)
    if spec is None and not path.is_file():
        raise BundleError(f"no shipped model at {path}; train one with performance_rnn_train (see the README) "
                          "or pass --bundle_file PATH")
    if path.is_dir():
        raise BundleError(f"bundle {path} is a folder; give a bundle file (.safetensors or .mag) or one of the "
                          f"shipped models: {', '.join(SHIPPED_MODELS)}")
    if not path.is_file():
        raise BundleError(f"bundle file {path} does not exist; give an existing file, a shipped model "
                          f"({', '.join(SHIPPED_MODELS)}) or a model in {models_dirs()[-1]}")
    return path


def model_summary(path) -> str:
    """One line for listings and --help: the description's head and the licence, from the header only."""
    meta = read_bundle_metadata(path)
    if not meta:
        return ""
    licence = meta.get("license", "licence not recorded").split(" (")[0]
    about = meta.get("description") or meta.get("config", "")
    about = about.split(":", 1)[-1].split(" (")[0].strip()  # 'name: what it is (see ...)' -> 'what it is'
    return f"{about}; {licence}"


def shipped_models_help() -> str:
    """'expressive (…, CC BY-NC-SA 4.0), chorales (…)': the shipped models as --help shows them."""
    return ", ".join(f"{name} ({model_summary(name) or 'not installed'})" for name in SHIPPED_MODELS)


def read_bundle_metadata(path) -> dict:
    """The JSON metadata of one of our bundles without loading its weights ({} for a .mag or a foreign file)."""
    from safetensors import safe_open

    path = resolve_bundle(path)
    if path.suffix.lower() != ".safetensors" or not path.is_file():
        return {}
    try:
        with safe_open(str(path), framework="numpy") as f:
            return json.loads((f.metadata() or {}).get("metadata", "{}"))
    except Exception:  # a damaged file says why when it is loaded; a listing just shows no details
        return {}


def bundle_metadata(config: PerformanceConfig, extra: dict | None = None) -> dict:
    """Everything needed to rebuild and describe the model; `extra` adds training steps, metrics, description."""
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "config": config.name, "generator_id": config.id, "hparams": config.hparams.to_dict(),
        "encoding": config.encoding, "num_classes": config.num_classes,
        "vocabulary": [list(r) for r in config.vocab.ranges],  # (kind, low, high, first class id)
        "num_velocity_bins": config.num_velocity_bins, "control_size": config.control_size,
        "controls": [name for name, on in (("disable_conditioning", config.optional_conditioning),
                                           ("notes_per_second", config.density_conditioning),
                                           ("pitch_class_histogram", config.pitch_conditioning)) if on],
        "training_steps": 0, "eval_metrics": {}, "description": config.description,
    }
    meta.update(extra or {})
    return meta
