"""The meters read one lateness window for both figures, and what share of the model's notes obey the faders."""
import mido
from rich.console import Console

from live.presets import InstrumentState
from live.scales import scale_levels
from live.scheduler import StatsReport
from live.tui.note_log import MODEL, NoteLog
from live.tui.view import WINDOWS_KEPT, ViewState
from live.tui.widgets.meters import Meters


class Bridge:
    running, recording = True, False


def test_lateness_p99_and_max_share_one_window():
    view = ViewState()
    for i in range(WINDOWS_KEPT + 20):
        late = 0.050 if i == 3 else 0.001 * (i % 3)  # an old outlier, pushed out of the window
        view.add_report(StatsReport(i * 0.5, i * 50, 0, late, 0.0003, 0, 0, 0))
    reading = view.reading(InstrumentState(), NoteLog(), 10.0, Bridge())
    assert reading.lateness_max_ms == 2.0  # the 50 ms window fell out of the kept 30 s
    assert reading.lateness_p99_ms <= reading.lateness_max_ms
    view.add_report(StatsReport(99.0, 9900, 1, 0.020, 0.0003, 0, 0, 0))
    reading = view.reading(InstrumentState(), NoteLog(), 10.0, Bridge())
    assert reading.lateness_max_ms == 20.0 and reading.lateness_p99_ms <= 20.0


def test_in_scale_share_of_the_model_notes_of_the_last_10_s():
    log = NoteLog(window_seconds=10.0)
    c_major = scale_levels("major", "C")
    for t, pitch in ((1.0, 61), (12.0, 60), (13.0, 62), (14.0, 66), (15.0, 64)):  # C# is old, F# is out
        log.add(t, "model", mido.Message("note_on", note=pitch, velocity=80))
    log.add(14.5, "input", mido.Message("note_on", note=63, velocity=80))  # the player's notes do not count
    assert log.share_in_classes(MODEL, c_major, 15.0) == 0.75
    assert log.share_in_classes(MODEL, scale_levels("chromatic"), 15.0) is None
    state = InstrumentState(pitch_levels=c_major)
    reading = ViewState().reading(state, log, 15.0, Bridge())
    assert reading.in_scale == 0.75


def test_meter_labels_say_what_each_figure_is():
    meters = Meters()
    view = ViewState()
    view.add_report(StatsReport(1.0, 100, 0, 0.0004, 0.0003, 0, 0, 0))
    log = NoteLog()
    log.add(1.0, "model", mido.Message("note_on", note=60, velocity=80))
    meters.reading = view.reading(InstrumentState(pitch_levels=scale_levels("major", "C")), log, 1.0, Bridge())
    console = Console(width=60, record=True)
    console.print(meters.render())
    text = console.export_text()
    assert "late 30 s" in text and "p99 0.40 ms" in text and "max 0.40 ms" in text
    assert "in scale" in text and "100%" in text and "model, 10 s" in text
    assert "late p99" not in text and "late max" not in text
