"""'Learn from my takes' (f): a real performance_rnn_finetune subprocess, then the hot swap to its model."""
import os

from engine.user_dirs import user_models_dir
from tests.helpers import tiny_bundle
from tests.style_takes import write_style_takes
from tests.tui.conftest import wait_until
from tests.tui.test_app import SIZE, app_for


async def test_learning_runs_niced_in_the_background_and_swaps_to_the_new_model(session, tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setenv("PRNN_CONFIG_DIR", str(tmp_path / "config"))
    takes = write_style_takes(tmp_path / "takes", 2.5, takes=3)[0].parent
    base = tiny_bundle(tmp_path)
    app = app_for(session, tmp_path, takes_root=takes)
    app.learn_extra = ("--max_steps", "3")
    async with app.run_test(size=SIZE) as pilot:
        app.state = app.state.replace(model=str(base))
        scripted = session.scheduler.performer.voice
        await pilot.press("f")
        job = app.finetune_job
        assert os.getpriority(os.PRIO_PROCESS, job.process.pid) == 19
        assert os.sched_getscheduler(job.process.pid) == os.SCHED_IDLE  # never the panel's real-time policy
        assert await wait_until(lambda: job.done, timeout=120)
        assert not job.error and "held-out NLL" in job.summary
        assert (user_models_dir() / f"{job.name}.safetensors").is_file()
        assert await wait_until(lambda: app.view.model_status == job.name, timeout=30)
        assert app.state.model == job.name
        assert await wait_until(lambda: session.scheduler.performer.voice is not scripted)  # swapped in


async def test_a_failed_learning_says_why_and_keeps_the_model(session, tmp_path, monkeypatch):
    monkeypatch.setenv("PRNN_CONFIG_DIR", str(tmp_path / "config"))
    base = tiny_bundle(tmp_path)
    app = app_for(session, tmp_path, takes_root=tmp_path / "no-takes")
    async with app.run_test(size=SIZE) as pilot:
        app.state = app.state.replace(model=str(base))
        await pilot.press("f")
        job = app.finetune_job
        assert await wait_until(lambda: job.done, timeout=120)
        assert "does not exist" in job.error and app.state.model == str(base)
        assert await wait_until(lambda: app.view.model_status is None, timeout=5)


def test_takes_go_to_a_dated_folder_in_the_takes_folder_unless_told(tmp_path, monkeypatch):
    from engine.user_dirs import takes_dir
    from live.cli import _takes_folder, build_parser, session_config

    monkeypatch.setenv("PRNN_CONFIG_DIR", str(tmp_path / "config"))
    args = build_parser().parse_args(["--record"])
    record = session_config(args).record
    assert record.startswith(str(takes_dir())) and record.endswith("take.mid")
    assert len(os.path.basename(os.path.dirname(record))) == len("2026-11-29_01-00-00")
    args = build_parser().parse_args(["--takes-dir", str(tmp_path / "mine"), "--record", "x.mid"])
    assert session_config(args).record == "x.mid" and _takes_folder(args) == tmp_path / "mine"
