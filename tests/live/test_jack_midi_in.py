"""live.jack_midi_in through a real JACK server: valid messages in order, malformed bytes and active sensing
dropped, everything received before close() delivered, a bad source a clear error."""
import time

import mido
import pytest
import rtmidi

from live.jack_midi_in import JackMidiInput

pytestmark = pytest.mark.jack


@pytest.fixture
def sender(jack_server):
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="jmi-sender")
    out.open_virtual_port("out")
    yield out
    out.close_port()
    out.delete()


def test_valid_messages_arrive_in_order_and_the_rest_is_dropped(sender):
    got = []
    port = JackMidiInput("jmi", "in", got.append, ["jmi-sender:out"])
    assert port.name == "jmi:in"
    time.sleep(0.2)  # a new connection takes effect a cycle or two later
    valid = [mido.Message("note_on", note=n, velocity=1 + n % 127, channel=n % 16) for n in range(128)]
    valid += [mido.Message("sysex", data=[n % 128 for n in range(4000)]), mido.Message("clock"),
              mido.Message("pitchwheel", pitch=-8192), mido.Message("program_change", program=5)]
    junk = [[0xFE], [0xE0, 5], [64, 100], [0x90, 0x80, 1], [0xF0, 1, 2]]  # sensing, short, no status, ...
    for i, msg in enumerate(valid):
        sender.send_message(msg.bytes())
        sender.send_message(junk[i % len(junk)])
    time.sleep(0.3)
    port.close()
    assert got == valid


def test_an_unknown_source_is_an_error_naming_it(jack_server):
    with pytest.raises(OSError, match="cannot connect 'nobody:out'"):
        JackMidiInput("jmi-bad", "in", None, ["nobody:out"])
