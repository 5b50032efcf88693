"""The take on disk: bad --record paths refused before playing, and the sidecar a crash leaves readable."""
import os
import struct

import mido
import pytest

from live.recorder import Recorder
from live.take_journal import RecordPathError, check_record_path, sidecar_path


def note_events(midi):
    return [m for m in midi if m.type in ("note_on", "note_off")]


@pytest.mark.parametrize("path, words", [("/proc/x.mid", "cannot write in /proc"),
                                         ("{tmp}", "is a directory"),
                                         ("{tmp}/no/such/folder/t.mid", "does not exist")])
def test_a_bad_record_path_is_refused_with_one_line(tmp_path, path, words):
    with pytest.raises(RecordPathError) as err:
        Recorder(path.format(tmp=tmp_path))
    assert words in str(err.value) and "\n" not in str(err.value)
    assert os.listdir(tmp_path) == []  # the write probe is gone


def test_too_little_free_space_is_refused(tmp_path):
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    with pytest.raises(RecordPathError, match="free"):
        check_record_path(str(tmp_path / "t.mid"), min_free=free * 2 + 2 ** 30)
    check_record_path(str(tmp_path / "t.mid"), min_free=1)


def test_the_sidecar_grows_readable_and_is_dropped_after_the_save(tmp_path):
    rec = Recorder(tmp_path / "take.mid")
    rec.start()
    played = []
    for i in range(40):
        msgs = [("player", mido.Message("note_on", note=40 + i, velocity=70)),
                ("model", mido.Message("note_off", note=40 + i))]
        for part, msg in msgs:
            rec.add(part, i * 0.1, msg)
            played.append((part, msg))
        if i % 10 == 9:
            rec.journal.flush()
            partial = mido.MidiFile(sidecar_path(rec.path))
            assert [m.bytes() for m in note_events(partial)] == [m.bytes() for _, m in played]
            assert partial.length == pytest.approx(i * 0.1, abs=0.002)
    assert rec.save() == str(tmp_path / "take.mid")
    assert not os.path.exists(sidecar_path(rec.path))
    final = [(m.type, m.note) for m in note_events(mido.MidiFile(rec.path))]
    assert final.count(("note_off", 40)) == 1 and len(final) == 80  # 40 held notes ended; stray offs dropped
    assert os.stat(rec.path).st_mode & 0o044  # an ordinary file, not a private one


def test_a_chunk_cut_off_mid_write_leaves_the_sidecar_readable(tmp_path):
    rec = Recorder(tmp_path / "take.mid")
    rec.start()
    rec.add("player", 0.5, mido.Message("note_on", note=60, velocity=70))
    rec.journal.flush()
    rec.add("player", 1.0, mido.Message("note_off", note=60))
    rec.journal.stop(remove=False)
    path = sidecar_path(rec.path)
    with open(path, "r+b") as f:  # what SIGKILL between writing a chunk and counting it leaves
        f.seek(0, os.SEEK_END)
        f.write(b"MTrk" + struct.pack(">I", 400) + b"\x00\x90\x3c")
    assert [(m.type, m.note) for m in note_events(mido.MidiFile(path))] == [("note_on", 60)]
