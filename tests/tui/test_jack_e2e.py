"""End to end through real JACK MIDI: the panel's density knob changes what comes out of the port, and
`p` ends every sounding note. A test client listens on the instrument's virtual output."""
import time

import mido
import pytest

from live.ports import PortConfig
from live.session import Session, SessionConfig
from live.settings import Settings
from live.tui.app import make_app
from tests.live.fakes import sounding_after
from tests.live.jack_listener import ProcessListener
from tests.tui.conftest import wait_until
from tests.tui.density_model import density_bundle

pytestmark = pytest.mark.jack


@pytest.fixture
def jack_backend(jack_server):
    """mido read MIDO_BACKEND when it was imported, before the fixture set it: switch explicitly."""
    before = mido.backend
    mido.set_backend(jack_server.env["MIDO_BACKEND"], load=True)
    yield jack_server
    mido.backend = before


def notes_per_second(listener: ProcessListener, seconds: float) -> float:
    end = time.perf_counter()
    ons = [t for t, m in listener.snapshot() if m.type == "note_on" and m.velocity > 0 and t > end - seconds]
    return len(ons) / seconds


async def test_density_knob_and_panic_through_jack(jack_backend, tmp_path):
    name = f"prnn-tui-{time.monotonic_ns()}"
    config = SessionConfig(Settings(mode="solo", notes_per_second=1.0), seed=0,
                           bundle_file=density_bundle(tmp_path / "density.safetensors"),
                           ports=PortConfig(no_input=True, virtual_name=name))
    session = Session(config, report=lambda text: None)
    listener = ProcessListener(name, jack_backend.env)  # its own process: see tests/live/jack_listener.py
    app = make_app(session, presets=[], cc_map_path=None, refresh_hz=15)
    try:
        async with app.run_test(size=(130, 40)) as pilot:
            await pilot.pause(2.5)
            low = notes_per_second(listener, 2.0)
            app.set_focus(app.main.query_one("#notes_per_second"))
            await pilot.press("pageup", "pageup", "pageup")  # 1 -> 16 notes/s
            assert app.main.query_one("#notes_per_second").value == 16.0
            await pilot.pause(3.5)  # the lookahead, then the model leaving its sparse past behind
            high = notes_per_second(listener, 2.0)
            s = session.scheduler
            assert high > 3 * max(low, 0.5), (low, high, s.step_estimate, s.stats.late_ticks, s.stats.ticks)
            await pilot.press("p")
            assert await wait_until(lambda: any(m.type == "control_change" and m.control == 120
                                                for _, m in listener.snapshot()), timeout=6), \
                (f"no panic received; scheduler error {session.scheduler.error!r}, tick {session.scheduler.tick}; "
                 f"jackd log: {jack_backend.read_log()[-600:]}")
            received = listener.snapshot()
            last_panic = max(i for i, (_, m) in enumerate(received) if m.type == "control_change"
                             and m.control == 120)
            assert sounding_after(received[:last_panic + 1]) == set()
            await pilot.press("q")
        time.sleep(0.2)
        assert sounding_after(listener.snapshot()) == set()  # and nothing after quitting either
    finally:
        listener.close()
        if session.clock_running:
            session.stop()
