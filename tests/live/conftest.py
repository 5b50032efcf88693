"""The JACK fixture: a private server for the whole live test session; if it cannot start, tests FAIL."""
import os

import pytest

from tests.live.jack_server import JackError, JackServer


@pytest.fixture(scope="session")
def jack_server():
    server = JackServer()
    try:
        server.start()
    except JackError as err:
        pytest.fail(f"cannot start a JACK server for the MIDI routing tests: {err}", pytrace=False)
    saved = {k: os.environ.get(k) for k in server.env}
    os.environ.update(server.env)  # this process is the test client
    try:
        yield server
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()
