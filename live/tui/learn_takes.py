"""'Learn from my takes' (key f): performance_rnn_finetune in the background, then a hot swap to its model.

The fine-tune runs as a separate process (live never imports train), at the lowest priority (SCHED_IDLE,
nice 19) and on one thread, so the clock thread and JACK keep their cores. Its `--progress lines` output
drives the status line; when it has saved the model, the model picker's own swap path loads it off the clock.
"""
from __future__ import annotations

import datetime
import os
import subprocess
import sys
import threading
from pathlib import Path

from engine.user_dirs import takes_dir
from live.user_config import resolve_model

NICENESS = 19
POLL_SECONDS = 0.5


def _lowest_priority() -> None:
    """In the child before exec. A fork keeps the parent thread's real-time policy (the instrument's helper
    threads are SCHED_FIFO), and nice does not apply to that: leave it first. SCHED_IDLE runs only on a core
    nothing else wants; where it is refused, a normal policy at nice 19."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    os.nice(NICENESS)


class FinetuneJob:
    """One performance_rnn_finetune subprocess; `fraction`, `done`, `error` are updated by a reader thread."""

    def __init__(self, takes: Path, base: Path, name: str, minutes: float, extra: tuple[str, ...] = ()):
        self.name = name
        self.fraction, self.done, self.error, self.summary = 0.0, False, "", ""
        command = [sys.executable, "-m", "train.finetune_cli", "--takes", str(takes), "--base", str(base),
                   "--name", name, "--minutes", str(minutes), "--threads", "1", "--progress", "lines", *extra]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env=env, preexec_fn=_lowest_priority, start_new_session=True)
        self._reader = threading.Thread(target=self._read, name="finetune-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            if line.startswith("progress "):
                self.fraction = float(line.split()[1])
            elif line.startswith("held-out"):
                self.summary = line.strip()
        errors = self.process.stderr.read().strip().splitlines()
        code = self.process.wait()
        if code:
            self.error = next((e for e in reversed(errors) if e.startswith("error:")),
                              errors[-1] if errors else f"exit status {code}")
        self.done = True

    def cancel(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()


class LearnTakesMixin:
    """Mixed into the App: needs self.state, self.view, swap_model(), notify() and set_interval()."""

    learn_minutes: float = 10.0
    learn_extra: tuple[str, ...] = ()  # more finetune flags (tests: a step cap)
    takes_root: Path | None = None  # default: where the instrument saves takes
    finetune_job: FinetuneJob | None = None

    def action_learn_takes(self) -> None:
        if self.finetune_job is not None and not self.finetune_job.done:
            self.notify(f"still learning ({self.finetune_job.fraction:.0%})", timeout=3)
            return
        base = resolve_model(self.state.model)
        if base is None:
            self.notify(f"model {self.state.model!r} is not a bundle to learn from", severity="error")
            return
        name = "mine-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        takes = self.takes_root or takes_dir()
        self.finetune_job = FinetuneJob(takes, base, name, self.learn_minutes, self.learn_extra)
        self.view.model_status = f"learning {name} from your takes…"
        self.notify(f"learning from your takes in {takes} (about {self.learn_minutes:g} min, in the background)",
                    timeout=5)
        self._learn_timer = self.set_interval(POLL_SECONDS, self._poll_learning)

    def _poll_learning(self) -> None:
        job = self.finetune_job
        if not job.done:
            self.view.model_status = f"learning {job.name}: {job.fraction:.0%}"
            self.update_labels()
            return
        self._learn_timer.stop()
        if job.error:
            self.view.model_status = None
            self.notify(f"learning from your takes failed: {job.error}", severity="error", timeout=10)
        else:
            self.notify(f"{job.summary}; now playing {job.name}", timeout=10)
            self.swap_model(job.name)
        self.update_labels()

    def stop_learning(self) -> None:
        if self.finetune_job is not None:
            self.finetune_job.cancel()
