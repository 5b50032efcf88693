"""Training under faults: a damaged newest checkpoint is skipped on resume, and says so."""
from __future__ import annotations

import torch

from train.trainer import Trainer
from train.distributed import DistInfo

from .test_train import _settings, dataset  # noqa: F401 (the module fixture)


def test_resume_skips_a_truncated_newest_checkpoint_and_names_it(dataset, tmp_path):  # noqa: F811
    torch.set_num_threads(1)
    Trainer(_settings(dataset, tmp_path / "a", 3, every=3), DistInfo()).run()
    Trainer(_settings(dataset, tmp_path / "a", 6, every=3), DistInfo()).run()
    reference = Trainer(_settings(dataset, tmp_path / "b", 3, every=3), DistInfo())
    reference.run()
    train = tmp_path / "a" / "train"
    for name in ("model-000000006.safetensors", "model-000000006.state.safetensors"):
        path = train / name
        path.write_bytes(path.read_bytes()[:200])  # a run killed, or a disk filled, mid-write
        logged = []
        settings = _settings(dataset, tmp_path / "a", 6, every=3)
        settings.log = logged.append
        resumed = Trainer(settings, DistInfo())
        assert resumed.step == 3 and resumed.weights_digest() == reference.weights_digest()
        assert logged[0].startswith("warning: skipping the damaged checkpoint at step 6: ")
        assert "\n" not in logged[0] and "resuming from step 3" in logged[1]
