"""Run ``authfunnel`` in this process with a recording telemetry client; dump its events.

Usage: ``python harness.py EVENTS_FILE ARGS...``. The tests' way to see the funnel events of
a real process: the product has no switch for it, this script runs ``main`` with an
environment carrying a recording client in place of the outbox client, then writes what it
recorded as JSON however the command ended.
"""

import json
import sys

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.fsm.testing import RecordingClient

recorder = RecordingClient()
status = 1
try:
    status = main(sys.argv[2:], Environment(telemetry=recorder))
finally:
    with open(sys.argv[1], "w") as file:
        json.dump([{"name": e.name, **dict(e.properties)} for e in recorder.events], file)
sys.exit(status)
