"""notebooks/performance_rnn.ipynb runs top to bottom (shipped model, FluidSynth audio) and is committed
without outputs."""
import base64
import io
import re
import wave
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from PIL import Image

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "performance_rnn.ipynb"


def test_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)


def _outputs(nb, mime: str) -> list[str]:
    return [o["data"][mime] for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if mime in o.get("data", {})]


def _wav_samples(html: str) -> tuple[int, np.ndarray]:
    data = base64.b64decode(re.search(r'src="data:audio/(?:x-)?wav;base64,([^"]+)"', html).group(1))
    with wave.open(io.BytesIO(data)) as w:
        return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), np.int16)


@pytest.mark.slow
def test_notebook_runs_and_shows_a_roll_a_plot_and_audio(tmp_path, monkeypatch):
    root = NOTEBOOK.parents[1]
    monkeypatch.setenv("PYTHONPATH", str(root))
    monkeypatch.setenv("PRNN_NOTEBOOK_OUT", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
                   ).execute()  # raises CellExecutionError on any failing cell
    roll, likelihood = (Image.open(io.BytesIO(base64.b64decode(png))) for png in _outputs(nb, "image/png"))
    assert roll.size == (1200, 450)  # PlotSettings' 12 x 4.5 inches at 100 dpi
    assert likelihood.size[0] > 600
    (audio,) = [h for h in _outputs(nb, "text/html") if "<audio" in h]
    rate, samples = _wav_samples(audio)
    assert len(samples) > rate * 10 and np.abs(samples).max() > 1000  # ten seconds of music, not silence
    assert {p.name for p in tmp_path.iterdir()} >= {"generated.mid", "generated.png", "generated.wav"}
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "no audio" not in text and "performance_with_dynamics layers [8, 8, 8]" in text
