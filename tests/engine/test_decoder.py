from engine.decoder import MidiDecoder
from engine.events import Event, Vocabulary
from engine.performance import Performance

VOCAB = Vocabulary(32)
on, off, shift, vel = (lambda v: Event("note_on", v)), (lambda v: Event("note_off", v)), \
    (lambda v: Event("time_shift", v)), (lambda v: Event("velocity", v))


def decode(events, **kw):
    decoder = MidiDecoder(**kw)
    out = []
    for e in events:
        out += decoder.feed(VOCAB.encode(e))
    return [(step, m.type, m.note, m.velocity) for step, m in out], decoder


def test_messages_carry_their_steps():
    msgs, _ = decode([vel(20), on(60), on(64), shift(50), off(60), shift(10), off(64), shift(1)])
    assert msgs == [(0, "note_on", 60, 77), (0, "note_on", 64, 77), (50, "note_off", 60, 0), (60, "note_off", 64, 0)]


def test_zero_length_and_unmatched_offs_are_dropped():
    msgs, _ = decode([off(40), on(60), off(60), shift(5)])
    assert msgs == []


def test_restrike_of_a_sounding_pitch():
    msgs, _ = decode([vel(32), on(60), shift(10), on(60), shift(10), off(60), shift(10), off(60), shift(1)])
    assert msgs == [(0, "note_on", 60, 125), (10, "note_off", 60, 0), (10, "note_on", 60, 125),
                    (30, "note_off", 60, 0)]


def test_forced_note_off_after_max_duration():
    msgs, decoder = decode([vel(32), on(60), shift(100), shift(100), shift(100), off(60), shift(1)],
                           max_note_duration_steps=150)
    assert msgs == [(0, "note_on", 60, 125), (150, "note_off", 60, 0)]
    assert decoder.sounding_pitches == []


def test_release_all_and_clone():
    _, decoder = decode([vel(32), on(60), on(62), shift(10)])
    saved = decoder.clone()
    assert [(s, m.type, m.note) for s, m in decoder.release_all()] == [(10, "note_off", 60), (10, "note_off", 62)]
    assert saved.sounding_pitches == [60, 62] and decoder.sounding_pitches == []


def test_stream_matches_batch_decode():
    events = [vel(10), on(60), shift(30), on(64), vel(30), on(67), shift(20), off(60), off(64), *[shift(100)] * 7,
              on(72), off(67), shift(40), off(72)]
    msgs, decoder = decode(events)
    msgs += [(s, m.type, m.note, m.velocity) for s, m in decoder.release_all()]
    starts = {}
    notes = []
    for step, kind, pitch, velocity in msgs:
        if kind == "note_on":
            starts[pitch] = (step, velocity)
        else:
            notes.append((pitch, starts[pitch][0] / 100, step / 100, starts[pitch][1]))
    assert sorted(notes) == sorted(Performance.from_events(events).to_notes().to_tuples())


def test_cut_notes_that_never_get_a_note_off_do_not_pile_up():
    from engine.decoder import MAX_OPEN_PER_PITCH
    events = []
    for _ in range(100):
        events += [on(60), *[shift(100)] * 6]
    _, decoder = decode(events)
    assert len(decoder._open[60]) <= MAX_OPEN_PER_PITCH + 1
