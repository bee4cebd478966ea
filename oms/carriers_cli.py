"""`oms carrier secret NAME` (a carrier's callback secret) and `oms carrier-sim` (the
simulated carrier's driver, one of `oms up`'s children)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from config.carrier_secrets import carrier_secret
from config.settings import Settings
from oms.cli import read_model


def cmd_secret(args: argparse.Namespace, settings: Settings) -> int:
    known = set(settings.carriers) | set(settings.carrier_secrets)
    if args.carrier not in known:
        print(
            f"no carrier {args.carrier!r}: the system knows {', '.join(sorted(known)) or 'none'} "
            "(OMS_CARRIERS, OMS_CARRIER_SECRETS)",
            file=sys.stderr,
        )
        return 1
    print(carrier_secret(settings, args.carrier))
    return 0


def cmd_carrier_sim(args: argparse.Namespace, settings: Settings) -> int:
    from activities.carrier_sim import run_simulated_carrier

    db = read_model(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    try:
        run_simulated_carrier(settings, db, stop)
    finally:
        db.dispose()
    return 0


def cmd_carrier_poll(args: argparse.Namespace, settings: Settings) -> int:
    from activities.carrier_poller import run_carrier_poller
    from activities.shipping import carriers_from

    db = read_model(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    try:
        run_carrier_poller(settings, db, carriers_from(settings, db), stop)
    finally:
        db.dispose()
    return 0


def register(subparsers: Any) -> None:
    carrier = subparsers.add_parser("carrier", help="carriers the system books (P3.4)")
    actions = carrier.add_subparsers(dest="carrier_command", required=True)
    secret = actions.add_parser(
        "secret", help="print a carrier's callback secret (made on first use)"
    )
    secret.add_argument("carrier", help="the carrier's name, as in OMS_CARRIERS (e.g. sim)")
    secret.set_defaults(fn=cmd_secret)
    subparsers.add_parser(
        "carrier-sim", help="run the simulated carrier: post its parcels' scans to the API"
    ).set_defaults(fn=cmd_carrier_sim)
    subparsers.add_parser(
        "carrier-poll",
        help="ask carriers without callbacks (OMS_POLLED_CARRIERS) for their scans",
    ).set_defaults(fn=cmd_carrier_poll)
