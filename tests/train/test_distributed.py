"""The training command under torchrun (2 CPU processes, gloo): replicas stay identical."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from engine.bundle import load_bundle
from train import dataset_cli
from train.checkpoints import CheckpointManager
from train.dataset_format import split_path

from .test_dataset import write_midi

REPO = Path(__file__).resolve().parents[2]


def test_torchrun_two_replicas_end_identical(tmp_path):
    for i in range(3):
        write_midi(tmp_path / f"p{i}.mid", seed=20 + i, seconds=35)
    ds = tmp_path / "ds"
    assert dataset_cli.main(["--config", "performance", "--input", str(tmp_path / "*.mid"), "--output_dir",
                             str(ds), "--eval_ratio", "0", "--workers", "1"]) == 0
    run_dir = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "train.train_cli", "--config", "performance", "--run_dir", str(run_dir),
               "--sequence_example_file", str(split_path(ds, "training")), "--hparams",
               "batch_size=4,rnn_layer_sizes=[16]", "--num_training_steps", "6", "--summary_frequency", "3",
               "--checkpoint_every_steps", "3", "--threads", "1"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    digests = dict(re.findall(r"rank (\d)/2: step 6 weights sha256 ([0-9a-f]{64})", done.stdout))
    assert set(digests) == {"0", "1"} and digests["0"] == digests["1"]
    # one writer: rank 0's checkpoint holds the same weights and records 2 replicas
    train_dir = run_dir / "train"
    assert CheckpointManager(train_dir).load_state(6).info["world_size"] == 2
    assert load_bundle(train_dir / "model-000000006.safetensors").metadata["training_steps"] == 6
    assert done.stdout.count("step 6: loss") == 1
