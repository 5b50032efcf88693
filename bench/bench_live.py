"""Bench: the live engine over real JACK MIDI routing; prints a Markdown table.

Phases (a private JACK server, dummy driver, p=128, is started and stopped here):
1. solo, dense: scheduler lateness (send - due), model step time, late ticks; a JACK client records arrivals;
2. duet: a client plays 5 notes/s into the instrument: input -> model context latency, and lateness meanwhile;
3. drift: solo for --drift_minutes (default 10): trend of lateness and of JACK arrival - due time;
4. solo again while 'learn from my takes' fine-tunes in the background (niced subprocess);
5. the alternative design, probed: a model thread stepping beside the clock thread (GIL contention).
The model is a random-init 3x512 LSTM (speed only), its head biased to short TIME_SHIFTs so it plays densely.

Usage: python bench/bench_live.py [--solo_seconds 60] [--duet_seconds 20] [--drift_minutes 10] [--finetune_seconds 30]
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the CLI does: one BLAS thread, one core left for JACK

import argparse  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import mido  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from engine.bundle import LoadedModel  # noqa: E402
from engine.configs import get_config  # noqa: E402
from engine.model import PerformanceModel  # noqa: E402
from live.clock import MonotonicClock  # noqa: E402
from live.ports import PortConfig  # noqa: E402
from live.stats import Stats  # noqa: E402
from live.clock import CLOCK_PRIORITY, HELPER_PRIORITY, make_realtime  # noqa: E402
from live.session import Session, SessionConfig  # noqa: E402
from live.settings import Settings  # noqa: E402
from tests.live.jack_server import JackServer  # noqa: E402

MS = 1e3


def dense_model() -> LoadedModel:
    """3x512, random init; logits pushed toward notes 36..96 and TIME_SHIFT 1..4 (about 110 events/s).
    NOTE_OFFs are a little likelier than NOTE_ONs, so notes end about as often as they start, as in real
    playing (with equal odds the decoder's open-note queues random-walk upward for the whole run)."""
    torch.manual_seed(0)
    config = get_config("performance_with_dynamics").with_hparams("rnn_layer_sizes=[512,512,512]")
    model = PerformanceModel(config).eval()
    vocab = config.vocab
    bias = torch.full((vocab.num_classes,), -10.0)
    for kind, logit in (("note_on", 0.0), ("note_off", 0.7)):
        bias[vocab.offsets[kind] + 36: vocab.offsets[kind] + 97] = logit
    bias[vocab.offsets["time_shift"] + 1: vocab.offsets["time_shift"] + 5] = 2.8
    with torch.no_grad():
        model.head.bias.copy_(bias)
    return LoadedModel(config, model, {"description": "random 3x512 for the live bench"})


class Listener:
    """A JACK client on the instrument's virtual output: arrival time of every message."""

    def __init__(self, port_name: str, backend):
        name = next(n for n in backend.get_input_names() if n.endswith(f":{port_name}"))
        # (time, type) only: plain values, which the garbage collector does not track (see live/recorder.py)
        self.arrivals: list[tuple[float, str]] = []
        self.port = backend.open_input(name, callback=lambda m: self.arrivals.append((time.perf_counter(), m.type)))

    def close(self):
        self.port.close()


def run_session(loaded, backend, port_name: str, seconds: float, mode: str = "solo", player=None):
    config = SessionConfig(Settings(mode=mode), seed=0, duration=seconds,
                           ports=PortConfig(virtual_name=port_name, no_input=player is None))
    session = Session(config, loaded=loaded, report=lambda text: print(text, file=sys.stderr))
    session.scheduler.recorder = SentLog()
    listener = Listener(port_name, backend)
    if player is not None:
        player.open(session)
    session.start()
    if player is not None:
        player(session)
    session.wait()
    session.stop()
    time.sleep(0.1)
    listener.close()
    if player is not None:
        player.close()
    return session, listener


class Player:
    """5 notes/s into the instrument; each (type, note, velocity) identifies one message. Its port is opened
    before the clock starts and closed after it stops: opening or closing a JACK client holds the GIL for tens
    of ms inside rtmidi (a real player is another process and cannot do that to the instrument)."""

    def __init__(self, port_name: str, backend, seconds: float):
        self.port_name, self.backend, self.seconds = port_name, backend, seconds
        self.sent, self.arrived, self.out = {}, {}, None

    def open(self, session):
        name = next(n for n in self.backend.get_output_names() if n.endswith(f":{self.port_name} in"))
        self.out = self.backend.open_output(name)
        session.on_player_message = lambda m: self.arrived.setdefault((m.type, m.note, m.velocity),
                                                                      time.perf_counter())

    def __call__(self, session):
        rng = np.random.default_rng(1)
        start = time.perf_counter()
        k = 0
        while time.perf_counter() - start < self.seconds - 0.5:
            note, velocity = int(rng.integers(48, 84)), 1 + k % 126
            for kind, vel in (("note_on", velocity), ("note_off", 0)):
                self.sent[(kind, note, vel)] = time.perf_counter()
                self.out.send(mido.Message(kind, note=note, velocity=vel))
                time.sleep(0.1)
            k += 1

    def close(self):
        self.out.close()

    def transport(self) -> list[float]:
        return [self.arrived[k] - self.sent[k] for k in self.sent if k in self.arrived]


def ms(summary: dict) -> str:
    return f"{summary['p50'] * MS:.3f} / {summary['p99'] * MS:.3f} / {summary['max'] * MS:.3f}"


def drift_row(session, minutes: float) -> list[str]:
    """Least-squares slope of lateness over the run, scaled to 10 minutes; and end-minus-start medians."""
    t = np.asarray(session.scheduler.stats.sent_at)
    late = np.asarray(session.scheduler.stats.lateness)
    slope = np.polyfit(t, late, 1)[0] if len(t) > 10 else float("nan")
    window = max(10.0, t[-1] / 10) if len(t) else 10.0
    first, last = np.median(late[t < window]), np.median(late[t > t[-1] - window])
    return [f"clock drift over {minutes:g} min: lateness trend x 10 min; last - first median",
            f"{slope * 600 * MS:+.4f} ms; {(last - first) * MS:+.4f} ms", "<= 1 ms / 10 min"]


class SentLog:
    """Stands in for the recorder: every model message actually sent, with its time since t0."""

    def __init__(self):
        self.sent: list[tuple[float, str]] = []

    def add(self, part, seconds, msg):
        if part == "model" and msg.type in ("note_on", "note_off"):
            self.sent.append((seconds, msg.type))


def jack_delays(session, listener) -> np.ndarray:
    """Send -> arrival at the JACK client per note message (JACK keeps their order), with arrival times."""
    sent = session.scheduler.recorder.sent
    arrivals = [t for t, kind in listener.arrivals if kind in ("note_on", "note_off")]
    n = min(len(arrivals), len(sent))
    sent_times = session.scheduler.t0 + np.asarray([t for t, _ in sent[:n]])
    return np.asarray(arrivals[:n]) - sent_times, sent_times


def jack_rows(session, listener, minutes: float | None = None) -> list[list[str]]:
    delay, when = jack_delays(session, listener)
    rows = [["JACK delivery (send -> client arrival), ms p50 / p99 / max", ms(Stats.summary(delay)),
             "info (MIDI moves once per 2.7 ms period)"]]
    if minutes is not None and len(delay) > 10:
        slope = np.polyfit(when - when[0], delay, 1)[0]
        rows.append([f"JACK delivery trend over {minutes:g} min, x 10 min", f"{slope * 600 * MS:+.4f} ms",
                     "<= 1 ms / 10 min"])
    return rows


def gil_probe(loaded, seconds: float, model_realtime: bool) -> list[str]:
    """The other design: model steps on their own thread ahead of the clock. Here a clock thread that only
    wakes on deadlines measures how late it gets while another thread steps the 3x512 model."""
    stepper = loaded.stepper()
    stop = threading.Event()

    def model_thread():
        if model_realtime:
            make_realtime(HELPER_PRIORITY)
        else:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        state = stepper.zero_state(1)
        ids = np.array([300])
        while not stop.is_set():  # about 110 steps/s: the dense setting's rate, not a nonstop spinner
            _, state = stepper.step(ids, None, state)
            time.sleep(0.008)

    clock, lateness = MonotonicClock(), []

    def clock_thread():
        make_realtime(CLOCK_PRIORITY)
        t0 = clock.now()
        for k in range(1, int(seconds * 100)):
            clock.wait_until(t0 + k * 0.01)
            lateness.append(clock.now() - (t0 + k * 0.01))

    worker = threading.Thread(target=model_thread, daemon=True)
    worker.start()
    ticker = threading.Thread(target=clock_thread)
    ticker.start()
    ticker.join()
    stop.set()
    worker.join()
    kind = "real-time" if model_realtime else "normal"
    return [f"other design: {kind} model thread stepping 110/s; clock wake lateness ms p50 / p99 / max",
            ms(Stats.summary(lateness)), "compare: p99 <= 1"]


def finetune_rows(loaded, backend, seconds: float, solo_lateness) -> list[list[str]]:
    """Solo again while the panel's 'learn from my takes' job (SCHED_IDLE, 1 thread) fine-tunes the shipped model."""
    import tempfile
    from pathlib import Path

    from live.tui.learn_takes import FinetuneJob
    from tests.style_takes import write_style_takes

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PRNN_CONFIG_DIR"] = tmp
        write_style_takes(Path(tmp) / "takes", 3.0)
        job = FinetuneJob(Path(tmp) / "takes", "chorales", "bench", minutes=seconds / 60 + 1)
        time.sleep(5)  # past its imports: the training loop is what runs beside the session
        session, _ = run_session(loaded, backend, "bench-finetune", seconds)
        fraction = job.fraction
        job.cancel()
        job.process.wait()
    during, before = Stats.summary(session.scheduler.stats.lateness), Stats.summary(solo_lateness)
    return [[f"solo {seconds:g} s while fine-tuning in the background (SCHED_IDLE, nice 19, 1 thread; reached "
             f"{fraction:.0%}): lateness ms p50 / p99 / max", ms(during), "info"],
            ["lateness p99 change from fine-tuning", f"{(during['p99'] - before['p99']) * MS:+.3f} ms", "< 0.5 ms"]]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--solo_seconds", type=float, default=60)
    p.add_argument("--duet_seconds", type=float, default=20)
    p.add_argument("--drift_minutes", type=float, default=10)
    p.add_argument("--probe_seconds", type=float, default=15)
    p.add_argument("--finetune_seconds", type=float, default=30, help="solo while a fine-tune runs (0: skip)")
    args = p.parse_args(argv)
    loaded = dense_model()
    # This process plays the instrument's and the player's parts: its other threads are real-time (lowest
    # priority) as the CLI's are, so none is preempted while it holds the GIL the clock thread needs.
    make_realtime(HELPER_PRIORITY)
    rows = []
    with JackServer() as jack:
        os.environ.update(jack.env)
        mido.set_backend(jack.env["MIDO_BACKEND"])  # mido read MIDO_BACKEND at import, before JACK was up
        backend = mido.Backend("mido.backends.rtmidi", api="UNIX_JACK")
        session, listener = run_session(loaded, backend, "bench-solo", args.solo_seconds)
        s = session.scheduler.stats
        notes = sum(1 for _, kind in listener.arrivals if kind == "note_on")
        rows += [
            [f"solo {args.solo_seconds:g} s, dense: note-ons/s; messages sent", f"{notes / args.solo_seconds:.1f}; "
             f"{len(s.lateness)}", "dense"],
            ["scheduler lateness (send - due), ms p50 / p99 / max", ms(Stats.summary(s.lateness)),
             "p99 <= 1, max <= 5"],
            ["late ticks (woke > 1 ms late) / ticks", f"{s.late_ticks} / {s.ticks}", "few"],
            ["model step under live load, ms p50 / p99 / max", ms(Stats.summary(s.step_seconds)), "info"],
            ["real-time priority for the clock thread", str(session.realtime), "info"],
            *jack_rows(session, listener),
        ]
        if args.finetune_seconds > 0:
            rows += finetune_rows(loaded, backend, args.finetune_seconds, s.lateness)
        player = Player("bench-duet", backend, args.duet_seconds)
        session, _ = run_session(loaded, backend, "bench-duet", args.duet_seconds, mode="duet", player=player)
        s = session.scheduler.stats
        transport = player.transport()
        rows += [
            [f"duet {args.duet_seconds:g} s, 5 notes/s in: input -> model context, ms p50 / p99 / max "
             f"(n={len(s.input_latency)})", ms(Stats.summary(s.input_latency)), "<= 10 (one step)"],
            ["duet: JACK transport player -> instrument callback, ms p50 / p99 / max", ms(Stats.summary(transport)),
             "info"],
            ["duet: scheduler lateness with rollbacks, ms p50 / p99 / max", ms(Stats.summary(s.lateness)),
             "p99 <= 1, max <= 5"],
            ["duet: rollbacks; catch-up shifts", f"{s.rollbacks}; {session.scheduler.performer.catchups}", "info"],
        ]
        if args.drift_minutes > 0:
            session, listener = run_session(loaded, backend, "bench-drift", args.drift_minutes * 60)
            rows.append(drift_row(session, args.drift_minutes))
            rows += jack_rows(session, listener, args.drift_minutes)
            rows.append(["drift run: lateness ms p50 / p99 / max", ms(Stats.summary(session.scheduler.stats.lateness)),
                         "p99 <= 1, max <= 5"])
    if args.probe_seconds > 0:
        rows.append(gil_probe(loaded, args.probe_seconds, model_realtime=False))
        rows.append(gil_probe(loaded, args.probe_seconds, model_realtime=True))
    print(f"\nload average during the bench: {os.getloadavg()[0]:.2f} (2 cores)\n")
    print("| measure | value | target |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
