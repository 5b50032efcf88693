"""performance_rnn_train: end to end (kill, resume, stop signal, eval, TensorBoard) and the loop's parts."""
from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.bundle import load_bundle
from engine.configs import get_config
from train import dataset_cli, train_cli
from train.checkpoints import CheckpointManager, checkpoint_steps
from train.dataset_format import split_path
from train.metrics import MetricSums, metric_sums
from train.trainer import Trainer, TrainSettings, clip_per_tensor
from train.distributed import DistInfo

from tests.helpers import tiny_bundle

from .test_dataset import exit_code, write_midi

REPO = Path(__file__).resolve().parents[2]
CONFIG = "performance_with_dynamics"
HPARAMS = "batch_size=8,rnn_layer_sizes=[32],learning_rate=0.01"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Three generated MIDI pieces and two Bach chorales from the music21 corpus."""
    root = tmp_path_factory.mktemp("data")
    (root / "midi").mkdir()
    for i in range(3):
        write_midi(root / "midi" / f"p{i}.mid", seed=10 + i, seconds=40)
    spec = f"{root / 'midi'};music21:bach/bwv66.6,bach/bwv1.6"
    assert dataset_cli.main(["--config", CONFIG, "--input", spec, "--output_dir", str(root / "ds"),
                             "--eval_ratio", "0.4", "--workers", "1"]) == 0
    manifest = json.loads((root / "ds" / "dataset_manifest.json").read_text())
    assert len(manifest["sources"]) == 5 and manifest["splits"]["eval"]["examples"] > 0
    return root / "ds"


def _command(ds: Path, run_dir: Path, *extra) -> list[str]:
    return [sys.executable, "-m", "train.train_cli", "--config", CONFIG, "--run_dir", str(run_dir),
            "--sequence_example_file", str(split_path(ds, "training")), "--hparams", HPARAMS,
            "--threads", "1", "--summary_frequency", "5", "--checkpoint_every_steps", "5", *extra]


def _start(command) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _read_until(proc: subprocess.Popen, pattern: str) -> re.Match:
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if match := re.search(pattern, line):
            return match
    raise AssertionError(f"no {pattern!r} in output:\n{''.join(lines)}")


def _scalars(folder: Path, tag: str) -> dict[int, float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {e.step: e.value for e in acc.Scalars(tag)}


def test_kill_resume_stop_eval_and_tensorboard(dataset, tmp_path):
    run_dir = tmp_path / "run"
    train_dir = run_dir / "train"
    # 1. train until killed (SIGKILL: no chance to save), after a few checkpoints
    proc = _start(_command(dataset, run_dir, "--num_training_steps", "0"))
    _wait_for(lambda: checkpoint_steps(train_dir) and checkpoint_steps(train_dir)[-1] >= 15)
    proc.kill()
    proc.wait()
    killed_at = CheckpointManager(train_dir).latest_resumable()
    assert killed_at >= 15 and killed_at % 5 == 0
    for step in checkpoint_steps(train_dir):  # every checkpoint left is complete and loadable
        assert load_bundle(train_dir / f"model-{step:09d}.safetensors").metadata["training_steps"] == step
        assert CheckpointManager(train_dir).load_state(step).step == step
    # 2. the same command resumes from the last checkpoint; SIGTERM saves before exiting
    proc = _start(_command(dataset, run_dir, "--num_training_steps", "0"))
    assert int(_read_until(proc, r"resuming from step (\d+)").group(1)) == killed_at
    _read_until(proc, rf"step {killed_at + 5}: loss")
    proc.send_signal(signal.SIGTERM)
    stopped_at = int(_read_until(proc, r"stopping at step (\d+)").group(1))
    assert proc.wait(timeout=30) == 0
    assert stopped_at > killed_at and checkpoint_steps(train_dir)[-1] == stopped_at
    # 3. finish at 50 steps (with the bf16 path: a numerics option, not an hparam)
    done = subprocess.run(_command(dataset, run_dir, "--num_training_steps", "50", "--bf16"), cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"resuming from step {stopped_at}" in done.stdout and "step 50: loss" in done.stdout
    assert checkpoint_steps(train_dir)[-1] == 50
    # 4. the eval job writes metrics for the latest checkpoint
    evaluated = subprocess.run([sys.executable, "-m", "train.train_cli", "--config", CONFIG, "--run_dir",
                                str(run_dir), "--sequence_example_file", str(split_path(dataset, "eval")),
                                "--hparams", HPARAMS, "--eval", "--eval_once", "--threads", "1"],
                               cwd=REPO, capture_output=True, text=True, timeout=120)
    assert evaluated.returncode == 0, evaluated.stderr
    # 5. TensorBoard files hold the metrics; the loss fell
    loss = _scalars(train_dir, "loss")
    assert set(range(5, 55, 5)) <= set(loss) and loss[50] < loss[5] - 0.3
    for tag in ("metrics/perplexity", "metrics/accuracy", "metrics/event_accuracy", "metrics/no_event_accuracy"):
        assert 50 in _scalars(train_dir, tag)
    eval_loss = _scalars(run_dir / "eval", "loss")
    assert list(eval_loss) == [50] and np.isfinite(eval_loss[50])
    assert 0 <= _scalars(run_dir / "eval", "metrics/accuracy")[50] <= 1


def _settings(dataset, run_dir, steps, every=3):
    config = get_config(CONFIG).with_hparams(HPARAMS)
    return TrainSettings(config, run_dir, split_path(dataset, "training"), steps, seed=3,
                         checkpoint_every_steps=every, summary_frequency=2, log=lambda *a: None)


def test_resume_is_exact(dataset, tmp_path):
    torch.set_num_threads(1)
    straight = Trainer(_settings(dataset, tmp_path / "a", 6), DistInfo())
    straight.run()
    Trainer(_settings(dataset, tmp_path / "b", 3), DistInfo()).run()
    resumed = Trainer(_settings(dataset, tmp_path / "b", 6), DistInfo())
    assert resumed.step == 3
    resumed.run()
    assert resumed.step == 6 and resumed.weights_digest() == straight.weights_digest()


def test_warm_start_takes_weights_only(dataset, tmp_path):
    torch.set_num_threads(1)
    first = Trainer(_settings(dataset, tmp_path / "a", 3), DistInfo())
    first.run()
    settings = _settings(dataset, tmp_path / "b", 0)
    settings.warm_start_bundle = tmp_path / "a" / "train" / "model-000000003.safetensors"
    warm = Trainer(settings, DistInfo())
    assert warm.step == 0 and warm.weights_digest() == first.weights_digest()


def test_run_dir_of_other_config_or_hparams_is_refused(dataset, tmp_path, capsys):
    base = ["--run_dir", str(tmp_path / "run"), "--sequence_example_file", str(split_path(dataset, "training")),
            "--num_training_steps", "2", "--threads", "1"]
    assert exit_code(train_cli.main, ["--config", CONFIG, "--hparams", HPARAMS, *base]) == 0
    before = sorted(p.name for p in (tmp_path / "run" / "train").iterdir())
    other = "batch_size=4,rnn_layer_sizes=[32]"
    assert exit_code(train_cli.main, ["--config", CONFIG, "--hparams", other, *base]) == 2
    assert "batch_size=8 (now 4)" in capsys.readouterr().err
    assert exit_code(train_cli.main, ["--config", "performance", *base]) == 2
    assert "trained with config 'performance_with_dynamics'" in capsys.readouterr().err
    assert exit_code(train_cli.main, ["--config", CONFIG, "--hparams", "batch_sise=4", *base]) == 2
    assert "unknown hparam 'batch_sise'" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "run" / "train").iterdir()) == before


def test_truncated_dataset_exits_2(dataset, tmp_path, capsys):
    broken = tmp_path / "training_performances.safetensors"
    broken.write_bytes(split_path(dataset, "training").read_bytes()[:-100])
    code = exit_code(train_cli.main, ["--config", CONFIG, "--run_dir", str(tmp_path / "run"),
                                      "--sequence_example_file", str(broken), "--num_training_steps", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "truncated" in err and err.count("\n") == 1


def test_clip_per_tensor_is_magentas_rule():
    small, big = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(4))
    small.grad, big.grad = torch.tensor([1.0, 2.0, 2.0]), torch.tensor([6.0, 0.0, 8.0, 0.0])
    clip_per_tensor([small, big], 3.0)
    assert torch.allclose(small.grad, torch.tensor([1.0, 2.0, 2.0]))  # norm 3: unchanged
    assert torch.allclose(big.grad, torch.tensor([1.8, 0.0, 2.4, 0.0]))  # norm 10 -> 3, on its own


def test_metrics_split_event_and_no_event_accuracy():
    config = get_config(CONFIG)
    no_event = config.vocab.no_event_id
    labels = torch.tensor([[60, no_event, 300, -1]])
    logits = torch.full((1, 4, config.num_classes), -5.0)
    logits[0, 0, 60] = logits[0, 1, 60] = logits[0, 2, 300] = 5.0  # right, wrong, right
    sums = metric_sums(config, logits, labels)
    values = sums.values()
    assert sums.tokens == 3 and values["accuracy"] == pytest.approx(2 / 3)
    assert values["event_accuracy"] == 1.0 and values["no_event_accuracy"] == 0.0
    assert sums.time_steps == 100 + 45  # TIME_SHIFT(100) and class 300 = TIME_SHIFT(45)
    assert values["perplexity"] == pytest.approx(np.exp(values["loss"]))
    assert MetricSums.from_tensor((sums + sums).as_tensor()).tokens == 6


def test_eval_job_watches_until_the_last_step(dataset, tmp_path):
    from train.evaluator import EvalSettings, Evaluator

    torch.set_num_threads(1)
    Trainer(_settings(dataset, tmp_path, 3), DistInfo()).run()
    config = get_config(CONFIG).with_hparams(HPARAMS)
    settings = EvalSettings(config, tmp_path, split_path(dataset, "eval"), interval_seconds=0.05,
                            timeout_seconds=30, num_training_steps=3, log=lambda *a: None)
    Evaluator(settings, DistInfo()).run()  # returns once step 3 (the last) is evaluated
    rows = [json.loads(line) for line in (tmp_path / "eval" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [3] and rows[0]["tokens"] > 0
    assert rows[0]["perplexity"] == pytest.approx(np.exp(rows[0]["loss"]))


def _warm_args(ds: Path, run_dir: Path, bundle, *extra) -> list[str]:
    return ["--run_dir", str(run_dir), "--sequence_example_file", str(split_path(ds, "training")),
            "--warm_start_bundle_file", str(bundle), "--threads", "1", *extra]


def test_warm_start_cli_takes_the_bundles_config_and_records_the_start(dataset, tmp_path):
    from train.warm_start import FINETUNE_LEARNING_RATE

    base = tiny_bundle(tmp_path, CONFIG, layers=(32,))
    run = tmp_path / "ft"
    assert train_cli.main(_warm_args(dataset, run, base, "--num_training_steps", "2",
                                     "--hparams", "batch_size=4")) == 0
    record = json.loads((run / "train" / "warm_start.json").read_text())
    assert record["path"] == str(base.resolve()) and record["config"] == CONFIG
    assert record["sha256"] == hashlib.sha256(base.read_bytes()).hexdigest()
    hparams = json.loads((run / "train" / "run_config.json").read_text())["hparams"]
    assert hparams["learning_rate"] == FINETUNE_LEARNING_RATE and hparams["rnn_layer_sizes"] == [32]
    loaded = load_bundle(run / "train" / "model-000000002.safetensors")
    assert loaded.metadata["warm_start"]["sha256"] == record["sha256"]
    assert loaded.metadata["training_steps"] == 2


def test_warm_start_accepts_a_magenta_mag(dataset, tmp_path):
    mag = REPO / "tests" / "fixtures" / "mag" / f"{CONFIG}.mag"
    run = tmp_path / "ft"
    assert train_cli.main(_warm_args(dataset, run, mag, "--num_training_steps", "1",
                                     "--hparams", "batch_size=2")) == 0
    assert json.loads((run / "train" / "warm_start.json").read_text())["config"] == CONFIG
    before, after = load_bundle(mag), load_bundle(run / "train" / "model-000000001.safetensors")
    assert before.config.hparams.rnn_layer_sizes == after.config.hparams.rnn_layer_sizes


def test_warm_start_of_another_config_or_other_layers_is_refused(dataset, tmp_path, capsys):
    base = tiny_bundle(tmp_path, CONFIG, layers=(32,))
    for extra, message in ((["--config", "performance"], "bundle is for config performance_with_dynamics"),
                           (["--hparams", "rnn_layer_sizes=[64]"], "fine-tuning keeps them")):
        assert exit_code(train_cli.main, _warm_args(dataset, tmp_path / "ft", base, *extra)) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "ft").exists()
