"""The peer, Performance-RNN-PyTorch (djosix), timed in this process: its model.py is read from a local git
mirror into a temp dir and imported there (never copied into this repo). Its config.py/progress imports are
met by two small shims; dimensions are its defaults (240 event classes, 24 controls, GRU 3x512, init 32).
Its own generate(): one torch GRU step per event for the whole batch, sampling (greedy=0), no controls."""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIRROR = Path("/work/.mirror/djosix+Performance-RNN-PyTorch/repo")
SHIMS = {"config.py": "import torch\ndevice = torch.device('cpu')\n",
         "progress/__init__.py": "",
         "progress/bar.py": "class Bar:\n    def __init__(self, *a, **k):\n        pass\n\n"
                            "    def iter(self, it):\n        return it\n"}


def peer_seconds(mirror: Path, outputs: int, events: int) -> tuple[float, float] | None:
    """(wall, CPU) seconds for the peer to generate outputs x events, or None when the mirror is missing."""
    if not (mirror / "HEAD").exists() and not (mirror / ".git").exists():
        return None
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        source = subprocess.run(["git", f"--git-dir={mirror}", "show", "HEAD:model.py"], capture_output=True,
                                text=True, check=True).stdout
        Path(tmp, "model.py").write_text(source)
        for name, text in SHIMS.items():
            Path(tmp, name).parent.mkdir(exist_ok=True)
            Path(tmp, name).write_text(text)
        sys.path.insert(0, tmp)
        try:
            import model as peer
        finally:
            sys.path.remove(tmp)
        torch.manual_seed(0)
        net = peer.PerformanceRNN(240, 24, 32, 512, gru_layers=3, gru_dropout=0.3).eval()
        with torch.no_grad():
            start, cpu = time.perf_counter(), time.process_time()
            net.generate(torch.randn(outputs, 32), events, greedy=0.0)
            return time.perf_counter() - start, time.process_time() - cpu
