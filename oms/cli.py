"""The `oms` command: one binary with roles (up, worker, api) and admin tools (staff, db)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from config.settings import Settings, get_settings
from db import staff as staff_store
from db.engine import Database
from db.staff import StaffMember
from domain.actors import Department, StaffRole
from domain.personal_data import customer_ref
from oms.logs import configure_logging


def read_model(settings: Settings) -> Database:
    """The read model of the settings, migrated or checked as `OMS_MIGRATE_ON_START` says
    (`SchemaOutOfDate` names `oms db upgrade`)."""
    db = Database(settings.resolved_database_url)
    db.prepare_schema(migrate=settings.migrate_on_start)
    return db


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    from oms.up import up

    return up(settings)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from workers.worker import run_worker

    asyncio.run(run_worker(settings))
    return 0


def require_leads(settings: Settings) -> None:
    """Stop with the message (`db.staff.NoLead`) unless every department that receives tasks
    has an active lead (P8.1): said here once, before any process starts serving."""
    db = read_model(settings)
    try:
        with db.read() as conn:
            staff_store.require_leads(conn, datetime.now(UTC))
    finally:
        db.dispose()


def cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app

    # The app checks it again as it starts (api/app.py); here it is one clear line.
    require_leads(settings)

    if settings.api_workers > 1:
        # Several processes: each builds its app from the environment (api.app:app).
        uvicorn.run(
            "api.app:app",
            factory=True,
            workers=settings.api_workers,
            host=settings.api_host,
            port=settings.api_port,
            log_level="warning",
        )
        return 0
    # Our logging setup (oms.logs) formats uvicorn's records too; requests are logged by
    # api/metrics.py with their route, order id and actor.
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
    )
    return 0


def cmd_codec_server(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from workers.codec_server import create_codec_app

    uvicorn.run(
        create_codec_app(settings),
        host=settings.codec_server_host,
        port=settings.codec_server_port,
        log_level="warning",
    )
    return 0


def cmd_command_keys_new(args: argparse.Namespace, settings: Settings) -> int:
    """Create the command key file, or rotate: the new key signs, every old one verifies."""
    from config.command_keys import CommandKeys, load_command_keys, save_command_keys

    current = load_command_keys(settings.command_key_file)
    keys = current.rotated() if current else CommandKeys.generate()
    save_command_keys(settings.command_key_file, keys)
    print(f"command signing key {keys.active} is active in {settings.command_key_file}")
    return 0


def cmd_command_keys_public(args: argparse.Namespace, settings: Settings) -> int:
    import json

    print(json.dumps(settings.command_key_set().public_strings()))
    return 0


def cmd_codec_new_key(args: argparse.Namespace, settings: Settings) -> int:
    """Create the key file, or rotate: a new active key, the old ones kept for decryption."""
    from config.keys import Keyring, load_key_file, save_key_file

    current = load_key_file(settings.codec_key_file)
    keyring = current.rotated() if current else Keyring.generate()
    save_key_file(settings.codec_key_file, keyring)
    print(f"active key {keyring.active} ({len(keyring.keys)} key(s)) in {settings.codec_key_file}")
    return 0


def cmd_staff_add(args: argparse.Namespace, settings: Settings) -> int:
    db = read_model(settings)
    now = datetime.now(UTC)
    expires = now + timedelta(days=args.expires_days) if args.expires_days else None
    with db.write() as conn:
        member, token = staff_store.add_staff(
            conn,
            args.name,
            Department(args.department),
            now,
            expires_at=expires,
            role=StaffRole(args.role),
        )
    print(
        f"added {member.staff_id} ({member.department.value}, {member.role.value})",
        file=sys.stderr,
    )
    print(token)  # the token alone on the last line of stdout (api.md)
    return 0


def cmd_customer_ref(args: argparse.Namespace, settings: Settings) -> int:
    """Customer ids are not shown to the engine in clear (domain/personal_data.customer_ref)."""
    ref = customer_ref(args.customer_id, settings.customer_ref_secret())
    print(ref)
    print(f"Temporal UI / temporal workflow list --query 'CustomerId = \"{ref}\"'", file=sys.stderr)
    return 0


def cmd_staff_list(args: argparse.Namespace, settings: Settings) -> int:
    with read_model(settings).read() as conn:
        for m in staff_store.list_staff(conn):
            state = (
                "revoked"
                if m.revoked_at
                else ("expires " + str(m.expires_at) if m.expires_at else "active")
            )
            print(
                f"{m.staff_id:<28} {m.department.value:<17} {m.role.value:<7} {state:<30} {m.name}"
            )
    return 0


def _one_member(conn: Connection, who: str) -> StaffMember | str:
    """The member of staff `who` names (a staff id, or a name only one member has), or
    why there is none."""
    member = staff_store.find(conn, who)
    if member is not None:
        return member
    named = staff_store.find_by_name(conn, who)
    if len(named) == 1:
        return named[0]
    if named:
        ids = ", ".join(m.staff_id for m in named)
        return f"{len(named)} members are called {who!r} ({ids}): name one by its staff id"
    return f"no member {who}"


def _warn_if_leaderless(conn: Connection, department: Department) -> None:
    if department in staff_store.departments_without_lead(conn, datetime.now(UTC)):
        print(
            f"WARNING: {department.value} has no active lead now; the API will not start "
            f"until it has one (P8.1): {staff_store.no_lead_message([department])}",
            file=sys.stderr,
        )


def cmd_staff_role(args: argparse.Namespace, settings: Settings) -> int:
    """Make a member of staff a lead of their department, or a member again (P8.1)."""
    with read_model(settings).write() as conn:
        found = _one_member(conn, args.staff)
        if isinstance(found, str):
            print(found, file=sys.stderr)
            return 1
        member = staff_store.set_role(conn, found.staff_id, StaffRole(args.role), datetime.now(UTC))
        assert member is not None  # found just now, in this transaction
        _warn_if_leaderless(conn, member.department)
    print(f"{member.staff_id} ({member.name}): {member.role.value} of {member.department.value}")
    return 0


def cmd_staff_revoke(args: argparse.Namespace, settings: Settings) -> int:
    log = settings.resolved_revocation_log
    try:
        with read_model(settings).write() as conn:
            done = staff_store.revoke(conn, args.staff_id, datetime.now(UTC), log=log)
    except OSError as error:
        print(f"not revoked: the revocation log {log} cannot be written ({error})", file=sys.stderr)
        return 1
    print(f"revoked {args.staff_id}" if done else f"no active member {args.staff_id}")
    if done:
        with read_model(settings).read() as conn:
            member = staff_store.find(conn, args.staff_id)
            if member is not None and member.is_lead:
                _warn_if_leaderless(conn, member.department)
    return 0 if done else 1


def cmd_staff_rotate(args: argparse.Namespace, settings: Settings) -> int:
    log = settings.resolved_revocation_log
    try:
        with read_model(settings).write() as conn:
            token = staff_store.rotate(conn, args.staff_id, log=log)
    except OSError as error:
        print(f"not rotated: the revocation log {log} cannot be written ({error})", file=sys.stderr)
        return 1
    if token is None:
        print(f"no member {args.staff_id}", file=sys.stderr)
        return 1
    print(token)
    return 0


#: Areas that bring subcommands of their own: each module has `register(subparsers)`,
#: whose parsers set `fn(args, settings) -> int`. A new area adds its module here.
COMMAND_MODULES: list[str] = [
    "oms.schedules",
    "audit.cli",
    "oms.backup_cli",
    "oms.temporal_setup",
    "oms.releases_cli",
    "oms.products_cli",
    "oms.carriers_cli",
    "oms.db_cli",
    "oms.sim_cli",
    "bench.cli",
]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="oms", description="Order management on Temporal.")
    sub = top.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)

    sub.add_parser(
        "up", help="run the whole embedded system (dev server, worker, API)"
    ).set_defaults(fn=cmd_up)
    sub.add_parser("worker", help="run a worker").set_defaults(fn=cmd_worker)
    sub.add_parser("api", help="run the HTTP API").set_defaults(fn=cmd_api)
    sub.add_parser(
        "codec-server", help="run the payload codec server for the Temporal UI"
    ).set_defaults(fn=cmd_codec_server)
    codec = sub.add_parser("codec", help="payload encryption keys").add_subparsers(
        dest="codec", required=True
    )
    codec.add_parser(
        "new-key", help="create the key file, or rotate to a new active key"
    ).set_defaults(fn=cmd_codec_new_key)
    command_keys = sub.add_parser(
        "command-keys", help="the keys that sign staff commands (domain/trust.py)"
    ).add_subparsers(dest="command_keys", required=True)
    command_keys.add_parser(
        "new", help="create the key file, or rotate: a new key signs, the old ones still verify"
    ).set_defaults(fn=cmd_command_keys_new)
    command_keys.add_parser(
        "public", help="print the public keys (OMS_COMMAND_KEYS for the workers)"
    ).set_defaults(fn=cmd_command_keys_public)

    ref = sub.add_parser(
        "customer-ref", help="a customer's opaque ref: how to find its orders in the Temporal UI"
    )
    ref.add_argument("customer_id")
    ref.set_defaults(fn=cmd_customer_ref)

    staff = sub.add_parser("staff", help="staff and tokens").add_subparsers(
        dest="staff", required=True
    )
    add = staff.add_parser("add", help="add a member; prints the token on the last line")
    add.add_argument("name")
    add.add_argument("--department", required=True, choices=[d.value for d in Department])
    add.add_argument("--expires-days", type=int, default=None, help="token lifetime in days")
    add.add_argument(
        "--role",
        choices=[r.value for r in StaffRole],
        default=StaffRole.MEMBER.value,
        help="lead: receives the department's escalations (P8.1); member by default",
    )
    add.set_defaults(fn=cmd_staff_add)
    staff.add_parser("list", help="list members").set_defaults(fn=cmd_staff_list)
    role = staff.add_parser("role", help="make a member of staff a lead, or a member again")
    role.add_argument("staff", help="staff id, or a name only one member of staff has")
    role.add_argument("role", choices=[r.value for r in StaffRole])
    role.set_defaults(fn=cmd_staff_role)
    revoke = staff.add_parser("revoke", help="revoke a member's token")
    revoke.add_argument("staff_id")
    revoke.set_defaults(fn=cmd_staff_revoke)
    rotate = staff.add_parser("rotate", help="issue a new token; the old one stops working")
    rotate.add_argument("staff_id")
    rotate.set_defaults(fn=cmd_staff_rotate)
    return top


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    args = parser().parse_args(argv)
    return int(args.fn(args, settings))


if __name__ == "__main__":
    sys.exit(main())
