"""The command line, as DESIGN.md fixes it. Each command imports only what it needs, so `decode` stays light."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from kapmonitor import __version__
from kapmonitor.core.errors import UserError


class OneLineParser(argparse.ArgumentParser):
    """A bad command line is one line on stderr, as every other failure is: what is wrong and where to look
    (argparse's own would print the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", help="SQLAlchemy database URL (default: SQLite in the user data directory)")


def _bed(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--bed", metavar="NAME", help="the bed or chair recorded at (default: this computer's configured bed)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="kapmonitor", description="Vital-sign monitoring for KAP sessions.")
    parser.add_argument("--version", action="version", version=f"kapmonitor {__version__}")
    parser.add_argument("--demo", action="store_true", help="start with simulated monitors streaming")
    _db(parser)
    _bed(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("decode", help="decode raw device bytes to JSON Lines")
    p.add_argument("--protocol", required=True, metavar="NAME")
    p.add_argument("--hex", action="store_true", help="input is hex text (Bluetooth: one notification per line)")
    p.add_argument("file", nargs="?", default="-", metavar="FILE|-")

    p = sub.add_parser("simulate", help="run a simulated device on a pseudo-terminal or serial port")
    p.add_argument("--protocol", required=True, metavar="NAME")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--pty", action="store_true", help="create a pseudo-terminal and print its path (default)")
    where.add_argument("--port", metavar="PATH", help="write to this serial port")
    where.add_argument(
        "--to", metavar="tcp://HOST:PORT", help="network protocols (hl7-pcd01): send to this listener"
    )
    p.add_argument("--scenario", metavar="FILE")

    p = sub.add_parser("record", help="record devices into a session without a window")
    p.add_argument("--device", action="append", default=[], metavar="PROTOCOL@ADDRESS")
    p.add_argument("--simulate", action="append", default=[], metavar="PROTOCOL")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: until interrupted)")
    p.add_argument("--patient", default="SIM-0001", metavar="ID", help="pseudonymous patient ID")
    p.add_argument(
        "--resume", type=int, metavar="ID", help="continue recording a session a crash interrupted (gap recorded)"
    )
    p.add_argument(
        "--wait-for-device",
        action="store_true",
        help="record even when a --device port is not there yet, and keep reconnecting to it",
    )
    _db(p)
    _bed(p)

    p = sub.add_parser("replay", help="run a scenario through decoders, hub and alarms without a window")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--speed", type=float, default=0.0, metavar="N", help="N x real time (default: as fast as possible)")
    p.add_argument("--json", action="store_true")
    _db(p)
    _bed(p)

    p = sub.add_parser("devices", help="serial ports and Bluetooth devices")
    dsub = p.add_subparsers(dest="devices_command", metavar="list|scan", required=True)
    pl = dsub.add_parser("list", help="serial ports")
    pl.add_argument("--probe", action="store_true", help="detect which protocol speaks on each port")
    ps = dsub.add_parser("scan", help="scan for Bluetooth LE health devices")
    ps.add_argument("--timeout", type=float, default=8.0, metavar="S")

    p = sub.add_parser("sessions", help="recorded sessions")
    ssub = p.add_subparsers(dest="sessions_command", metavar="list|show|export|recover", required=True)
    sl = ssub.add_parser("list")
    sl.add_argument("--json", action="store_true")
    _db(sl)
    sh = ssub.add_parser("show")
    sh.add_argument("id", type=int)
    sh.add_argument("--json", action="store_true")
    _db(sh)
    se = ssub.add_parser("export")
    se.add_argument("id", type=int)
    se.add_argument("--format", required=True, choices=["csv", "pdf", "edf", "fhir", "hl7", "rems"])
    se.add_argument("--out", required=True, metavar="PATH")
    se.add_argument("--deidentify", action="store_true", help="pseudonymise the patient and shift every date")
    se.add_argument("--salt-file", metavar="FILE", help="the --deidentify secret (default: this computer's own)")
    se.add_argument(
        "--keep-free-text", action="store_true", help="with --deidentify: keep notes (dates shifted; check for names)"
    )
    _db(se)
    sr = ssub.add_parser("recover", help="close a session a crash interrupted at its last data, the gap recorded")
    sr.add_argument("id", type=int)
    _db(sr)

    p = sub.add_parser("hl7", help="the HL7 outbox: sessions sent to the clinic's interface engine")
    hsub = p.add_subparsers(dest="hl7_command", metavar="outbox|queue|skip|send", required=True)
    ho = hsub.add_parser("outbox", help="list the messages waiting (with --all, the sent ones too)")
    ho.add_argument("--all", action="store_true")
    ho.add_argument("--json", action="store_true")
    _db(ho)
    hq = hsub.add_parser("queue", help="put a session's ORU^R01 messages in the outbox")
    hq.add_argument("id", type=int)
    hq.add_argument("--to", required=True, metavar="tcp://HOST:PORT")
    _db(hq)
    hk = hsub.add_parser("skip", help="take a message the engine never accepts out of the queue (audited)")
    hk.add_argument("id", type=int, help="the message's id in `hl7 outbox`")
    hk.add_argument("--reason", required=True)
    hk.add_argument("--user", default="", help="who skips it (for the audit trail)")
    _db(hk)
    hs = hsub.add_parser("send", help="send the outbox in order, retrying until each message is accepted")
    hs.add_argument("--to", required=True, metavar="tcp://HOST:PORT")
    hs.add_argument("--until-empty", action="store_true", help="stop when nothing is left to send")
    hs.add_argument("--timeout", type=float, metavar="S", help="with --until-empty: give up after S seconds")
    _db(hs)

    p = sub.add_parser("audit", help="the audit trail")
    asub = p.add_subparsers(dest="audit_command", metavar="verify|vouch", required=True)
    av = asub.add_parser("verify", help="check the audit chain and every row it vouches for")
    av.add_argument(
        "--anchor", metavar="HEAD", help="an audit head printed on a report or export (SEQ:HASH) that must still hold"
    )
    _db(av)
    ao = asub.add_parser(
        "vouch",
        help="once, after upgrading: vouch for the patient, session, device and user rows written before this "
        "version (docs/audit.md)",
    )
    _db(ao)

    p = sub.add_parser("central", help="the central station: every chair recording on a shared database")
    _db(p)

    p = sub.add_parser("db", help="database maintenance")
    dbsub = p.add_subparsers(dest="db_command", metavar="upgrade", required=True)
    _db(dbsub.add_parser("upgrade"))
    return parser


def _run_app(args: argparse.Namespace) -> int:
    from kapmonitor.core.beds import bed_or_configured
    from kapmonitor.ui.app import run

    return run(db_url=args.db, demo=args.demo, bed=bed_or_configured(args.bed))


def _run_decode(args: argparse.Namespace) -> int:
    from kapmonitor.cli.decode import run

    return run(args.protocol, args.file, hex_input=args.hex)


def _run_simulate(args: argparse.Namespace) -> int:
    from kapmonitor.cli.simulate import run

    return run(args.protocol, port=args.port, scenario=args.scenario, to=args.to)


def _run_record(args: argparse.Namespace) -> int:
    from kapmonitor.cli.record import run

    return run(args)


def _run_replay(args: argparse.Namespace) -> int:
    from kapmonitor.cli.replay import run

    return run(args)


def _run_devices(args: argparse.Namespace) -> int:
    from kapmonitor.cli.devices import run

    return run(args)


def _run_sessions(args: argparse.Namespace) -> int:
    from kapmonitor.cli.sessions import run

    return run(args)


def _run_hl7(args: argparse.Namespace) -> int:
    from kapmonitor.cli.hl7 import run

    return run(args)


def _run_audit(args: argparse.Namespace) -> int:
    from kapmonitor.cli.audit import run

    return run(args)


def _run_central(args: argparse.Namespace) -> int:
    from kapmonitor.ui.central.app import run

    return run(args.db)


def _run_db(args: argparse.Namespace) -> int:
    from kapmonitor.store.db import engine_for, upgrade
    from kapmonitor.store.header_proof import VOUCH_COMMAND, awaiting_vouch

    url = upgrade(args.db)
    print(f"database is at the newest schema: {url}")
    engine = engine_for(url)
    try:
        waiting = awaiting_vouch(engine)
    finally:
        engine.dispose()
    if waiting:
        print(
            f"rows from before this version that the audit trail does not vouch for yet: {waiting} (patients, "
            f"sessions, devices, record headers, user accounts); run `{VOUCH_COMMAND}` once, on a workstation "
            "that holds the audit key (docs/audit.md)"
        )
    return 0


COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    None: _run_app,
    "decode": _run_decode,
    "simulate": _run_simulate,
    "record": _run_record,
    "replay": _run_replay,
    "devices": _run_devices,
    "sessions": _run_sessions,
    "hl7": _run_hl7,
    "audit": _run_audit,
    "central": _run_central,
    "db": _run_db,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"kapmonitor: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `kapmonitor sessions list --json | head`: the reader has what it wanted
        _silence_stdout()
        return 141  # what a shell reports for a program ended by SIGPIPE
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("kapmonitor."):
            print(f"kapmonitor: this command is not available in this build ({exc.name})", file=sys.stderr)
            return 2
        raise


def _silence_stdout() -> None:
    """Points stdout at /dev/null so the interpreter's last flush does not fail again on the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
