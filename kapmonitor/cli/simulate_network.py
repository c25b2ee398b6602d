"""``simulate --protocol hl7-pcd01 --to tcp://HOST:PORT``: a simulated networked monitor sending to a listener.

Prints ``sending to HOST:PORT`` once connected, then one line per answer that is not an acceptance; reconnects
(every 2 s) when the listener is down or drops the connection, so a technician can start either side first.
"""

from __future__ import annotations

import asyncio
import threading
import time

from kapmonitor.cli.errors import CommandError
from kapmonitor.devices.links.mllp import ListenerError, parse_endpoint
from kapmonitor.devices.links.mllp_client import MllpConnection
from kapmonitor.devices.simulation.interface import DeviceSimulator

TICK_S = 0.2
RETRY_S = 2.0


def serve_network(simulator: DeviceSimulator, endpoint: str, stop: threading.Event) -> None:
    try:
        parse_endpoint(endpoint)
    except ListenerError as exc:
        raise CommandError(str(exc)) from None
    asyncio.run(_serve(simulator, endpoint, stop))


async def _serve(simulator: DeviceSimulator, endpoint: str, stop: threading.Event) -> None:
    from kapmonitor.devices.hl7.framing import MessageFramer

    framer = MessageFramer()
    last = time.monotonic()
    said_down = False
    while not stop.is_set():
        try:
            connection = await MllpConnection.open(endpoint)
        except (OSError, TimeoutError) as exc:
            if not said_down:
                print(f"cannot reach {endpoint} ({exc}); retrying every {RETRY_S:g} s", flush=True)
                said_down = True
            await _sleep(stop, RETRY_S)
            last = time.monotonic()
            continue
        print(f"sending to {endpoint}", flush=True)
        said_down = False
        try:
            while not stop.is_set():
                await _sleep(stop, TICK_S)
                now = time.monotonic()
                data, last = simulator.advance(now - last), now
                for found in framer.feed(data):
                    message = getattr(found, "message", None)
                    if message is None:
                        continue
                    answer = await connection.send(message)
                    if not answer.accepted:
                        print(f"answer {answer.code or '(none)'}: {answer.reason}", flush=True)
        except (ConnectionError, OSError) as exc:
            print(f"connection to {endpoint} lost ({exc}); reconnecting", flush=True)
        finally:
            await connection.close()


async def _sleep(stop: threading.Event, seconds: float) -> None:
    end = time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < end:
        await asyncio.sleep(min(0.1, end - time.monotonic()))
