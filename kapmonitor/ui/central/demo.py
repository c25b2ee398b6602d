"""``make demo-clinic``: a private PostgreSQL server, three simulated chairs recording into it, and the central
station watching them. Everything is removed again when the window closes.

Each chair is a full bedside station (its own simulated oximeter and cuff on pseudo-terminals, its own alarm
engine, recorder and session) at its own bed, started part-way into a demo scenario so its trends and dosing are
already filled in; chair 3's patient desaturates, so the central station has an alarm to show.
"""

from __future__ import annotations

import signal
import sys

from kapmonitor.bed.clinic import ServerUnavailable, demo_clinic


def main() -> int:
    from kapmonitor.ui.startup import startup_problem

    problem = startup_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    # SIGTERM while the chairs start: leaving demo_clinic still stops them and removes the server
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with demo_clinic(lambda line: print(f"kapmonitor: {line}", file=sys.stderr)) as url:
            from kapmonitor.ui.central.app import run

            return run(url, demo_user=True)
    except ServerUnavailable as error:
        print(f"kapmonitor: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
