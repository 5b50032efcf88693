import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.bundle import latest_checkpoint, load_bundle, save_bundle
from engine.errors import BundleError
from engine.stepper import Stepper
from tests.helpers import synthetic_piece, tiny_bundle, tiny_model


def _logits(model, ids):
    with torch.no_grad():
        return model(torch.from_numpy(ids)[None])[0].numpy()


def test_save_then_load_gives_identical_logits(tmp_path):
    path = tiny_bundle(tmp_path, "performance_with_dynamics", eval_metrics={"loss": 0.5})
    loaded = load_bundle(path)
    original = tiny_model("performance_with_dynamics")
    ids = synthetic_piece(original.config)
    np.testing.assert_array_equal(_logits(loaded.model, ids), _logits(original, ids))
    assert loaded.config.name == "performance_with_dynamics"
    assert loaded.config.hparams.rnn_layer_sizes == (32,)
    assert loaded.metadata["eval_metrics"] == {"loss": 0.5}
    assert loaded.metadata["num_classes"] == 388 and loaded.metadata["training_steps"] == 400
    assert loaded.metadata["vocabulary"][2] == ["time_shift", 1, 100, 256]
    assert not list(tmp_path.glob("*.tmp"))


def test_conditioned_bundle_round_trip_and_log_probs(tmp_path):
    loaded = load_bundle(tiny_bundle(tmp_path, "multiconditioned_performance_with_dynamics"))
    assert loaded.metadata["controls"] == ["notes_per_second", "pitch_class_histogram"]
    piece = synthetic_piece(loaded.config)
    table = loaded.event_log_probs(loaded.config.vocab.decode_all(piece), notes_per_second=8)
    assert table.shape == (len(piece), loaded.config.num_classes)
    assert np.allclose(np.exp(table).sum(axis=1), 1.0)
    labels = loaded.label_log_probs(piece, notes_per_second=8)
    assert labels.tolist() == table[np.arange(len(piece) - 1), piece[1:]].tolist() and (labels <= 0).all()
    assert isinstance(loaded.stepper(), Stepper)


def test_float16_storage_upcasts_on_load(tmp_path):
    model = tiny_model()
    path = save_bundle(tmp_path / "half.safetensors", model, dtype="float16")
    loaded = load_bundle(path)
    assert loaded.model.head.weight.dtype == torch.float32
    ids = synthetic_piece(model.config)
    np.testing.assert_allclose(_logits(loaded.model, ids), _logits(model, ids), atol=0.05)
    assert path.stat().st_size < 0.6 * tiny_bundle(tmp_path, name="full.safetensors").stat().st_size


def test_config_mismatch_names_both(tmp_path):
    path = tiny_bundle(tmp_path, "performance_with_dynamics")
    with pytest.raises(BundleError, match="bundle is for config performance_with_dynamics, but --config "
                                          "performance was given"):
        load_bundle(path, "performance")
    # the compact config shares its weights with the one-hot one, as in Magenta
    assert load_bundle(path, "performance_with_dynamics_compact").config.name == "performance_with_dynamics_compact"


def test_truncated_file_fails_in_one_line(tmp_path):
    path = tiny_bundle(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError) as err:
        load_bundle(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_tampered_weights_fail_the_checksum(tmp_path):
    path = tiny_bundle(tmp_path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="checksum"):
        load_bundle(path)


def test_tampered_metadata_and_foreign_files_fail(tmp_path):
    from safetensors.numpy import save_file

    other = tmp_path / "other.safetensors"
    save_file({"x": np.zeros(3, np.float32)}, str(other))
    with pytest.raises(BundleError, match="not a Performance RNN bundle"):
        load_bundle(other)
    save_file({"x": np.zeros(3, np.float32)}, str(other),
              metadata={"metadata": json.dumps({"format": "performance_rnn_live", "config": "nope"})})
    with pytest.raises(BundleError):
        load_bundle(other)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(BundleError):
        load_bundle(text)
    with pytest.raises(BundleError, match="does not exist"):
        load_bundle(tmp_path / "missing.safetensors")


def test_latest_checkpoint_picks_the_highest_step(tmp_path):
    assert latest_checkpoint(tmp_path / "nothing") is None
    for name in ["model-000000010.safetensors", "model-000000200.safetensors",
                 "model-000000300.safetensors.tmp", "notes.txt"]:
        (tmp_path / name).write_bytes(b"")
    assert latest_checkpoint(tmp_path).name == "model-000000200.safetensors"


def test_shipped_models_resolve_by_short_name_and_carry_their_licence():
    from engine.bundle_info import (DEFAULT_MODEL, SHIPPED_MODELS, default_bundle_path, read_bundle_metadata,
                                resolve_bundle, shipped_models_help)

    assert "chorales" in SHIPPED_MODELS and SHIPPED_MODELS[0] == DEFAULT_MODEL
    for name in SHIPPED_MODELS:
        path = resolve_bundle(name)
        assert path.is_file() and path.stem == name
        meta = read_bundle_metadata(name)  # header only: the tests never load the shipped weights
        assert meta["license"] and meta["training_data"] and meta["config"]
    assert resolve_bundle("default") == default_bundle_path()
    assert all(f"{name} (" in shipped_models_help() for name in SHIPPED_MODELS)  # --help names each with its licence


def test_a_path_wins_over_a_short_name_and_a_folder_is_refused(tmp_path, monkeypatch):
    from engine.bundle import load_bundle, resolve_bundle

    monkeypatch.chdir(tmp_path)
    (tmp_path / "chorales").write_bytes(b"x")
    assert resolve_bundle("chorales") == Path("chorales")
    with pytest.raises(BundleError, match="is a folder; give a bundle file"):
        load_bundle(tmp_path)


def test_atomic_writes_get_ordinary_permissions_and_leave_nothing_on_error(tmp_path):
    import os

    from engine.atomic import atomic_path, atomic_write_text

    mask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "sub" / "a.txt", "hello")
        assert path.read_text() == "hello" and (path.stat().st_mode & 0o777) == 0o644  # not mkstemp's 0600
        with pytest.raises(OSError):
            with atomic_path(tmp_path / "b.txt") as tmp:
                tmp.write_text("half")
                raise OSError("disk full")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]  # no b.txt, no temp file
    finally:
        os.umask(mask)


def test_a_user_model_resolves_by_name_but_never_hides_a_shipped_one(tmp_path, monkeypatch):
    from engine.bundle import load_bundle, resolve_bundle
    from engine.bundle_info import shipped_bundle_path
    from engine.user_dirs import user_models_dir

    monkeypatch.setenv("PRNN_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("PRNN_MODELS", raising=False)
    monkeypatch.chdir(tmp_path)
    mine = tiny_bundle(user_models_dir(), name="my-style.safetensors")
    tiny_bundle(user_models_dir(), name="chorales.safetensors")
    assert resolve_bundle("my-style") == mine
    assert load_bundle("my-style").metadata["description"] == "tiny test model"
    assert resolve_bundle("chorales") == shipped_bundle_path("chorales")
    assert resolve_bundle("sub/my-style") == Path("sub/my-style")  # only bare names are looked up
    with pytest.raises(BundleError, match="or a model in .*config/models"):
        load_bundle("nobody")
