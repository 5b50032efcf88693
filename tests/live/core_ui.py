"""A stand-in for the panel's process, for the test that kills the UI: it starts the real-time core exactly as
the TUI does (CoreClient), lets the model play, prints the core's pid and then waits to be killed.

Usage: python -m tests.live.core_ui BUNDLE PORT_NAME"""
from __future__ import annotations

import sys
import time

from live.core_client import CoreClient
from live.ports import PortConfig
from live.session import SessionConfig
from live.settings import Settings


class _Quiet:
    def __call__(self, event):
        pass

    def player_message(self, msg):
        pass

    def report(self, text):
        pass


def main(bundle: str, port_name: str) -> None:
    config = SessionConfig(Settings(mode="solo", notes_per_second=16.0), bundle_file=bundle, seed=0,
                           ports=PortConfig(no_input=True, virtual_name=port_name))
    core = CoreClient(config)
    core.install_sink(_Quiet())
    core.start()
    print(core.process.pid, flush=True)
    time.sleep(3600)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
