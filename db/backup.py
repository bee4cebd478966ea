"""Encrypted, signed backups of the read model and of the dev server's database (P6.2).

A backup is a folder `oms-backup-<UTC time>-<id>` (mode 0700) under the backup
directory (in production a volume mounted from another site) holding, each file
mode 0600 from its creation:

- the read model: a SQLite copy made with SQLite's online backup API (the
  system keeps running), or a `pg_dump --format=custom` of PostgreSQL taken in
  one snapshot (`read-model.sqlite.enc` / `read-model.pgdump.enc`);
- the Temporal dev server's SQLite file, when the embedded system runs one
  (`temporal-dev-server.sqlite.enc`);
- `manifest.json`: format version, key id, creation time, the SHA-256 and size of
  every (encrypted) file, per table of the read model its row count and a SHA-256
  of its rows in key order, and an HMAC-SHA256 signature over all of it.

Nothing readable leaves the machine: the SQLite copies are made in a private
temporary folder (mode 0700) next to the database they copy and encrypted from
there; pg_dump's output is encrypted as it streams, and pg_restore reads the
decrypted stream (in one transaction), so a dump is never written in clear.

**Keys.** A `config.keys.Keyring` of 256-bit backup keys (`OMS_BACKUP_KEYS` and
`OMS_BACKUP_ACTIVE_KEY`, base64 by key id; or the key file `var/backup-keys.json`,
created mode 0600 with O_CREAT|O_EXCL by the first backup). The active key
encrypts; every key of the keyring still restores, and the manifest names the
key id, so keys rotate (`oms backup new-key`). The key is never written into a
backup folder, and a key file inside the backup directory is refused. From the
backup key two keys are derived with HKDF-SHA256 (RFC 5869):

- the manifest's MAC key: HKDF(key, salt = none, info = `oms-backup/v2/manifest-hmac-sha256`);
- each file's encryption key: HKDF(key, salt = the file's random 16-byte salt,
  info = `oms-backup/v2/file-aes-256-gcm`), so no two files share a GCM key.

**Encrypted file format** (version 1), streamed in chunks so memory stays bounded
(two chunks at a time, 1 MiB each by default):

    header = "OMSBKENC" | version (1 byte, 1) | chunk size (4 bytes, big-endian)
             | salt (16 bytes) | key id length (1 byte) | key id (ASCII)
             | context length (2 bytes, big-endian) | context ("<backup id>/<file name>", UTF-8)
    chunk  = nonce (12 random bytes) | AES-256-GCM(file key, nonce, plaintext, aad) (ciphertext
             and its 16-byte tag)
    aad    = SHA-256(header) | chunk index (8 bytes, big-endian) | final (1 byte: 1 on the last)

Every chunk but the last holds exactly `chunk size` plaintext bytes; the last holds
0..chunk size bytes and is marked final (an empty file is one empty final chunk).
The header is bound to every chunk, so its key id, salt and context cannot be
changed; the index and the final mark make a reordered, truncated or extended file
fail to decrypt; the context ties a file to its backup and its name.

**Manifest signature.** `manifest.json` is a JSON object whose `signature` member is
`hmac-sha256:<hex>`: the HMAC-SHA256, with the MAC key of the manifest's `key_id`,
of the canonical JSON (keys sorted, no spaces, ASCII) of the object without
`signature`. A checked manifest (`verify_files`, and before any restore) must be
format 2, name only the files a backup holds (a fixed set of plain names: no
separators, no `..`, no absolute paths; checked before any file is opened), be
signed by a key of the keyring, and every file must have its recorded size and
SHA-256 and decrypt (each chunk authenticated). Anything else is refused before
the target is touched. Backups of format 1 (before encryption) are refused.

The table digests are taken from the same snapshot as the copy (the copy itself
for SQLite; the exported snapshot pg_dump also reads for PostgreSQL), so a
restore can prove it brought back exactly what was saved. A folder is renamed
into place only when complete; after a good backup only the newest `keep` stay.

A restore brings the staff table back as it was; `reapply_revocations` then
replays the revocation log (db/staff.py) so a token revoked since stays revoked.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import os
import secrets
import shutil
import sqlite3
import stat
import struct
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlalchemy import Connection, create_engine, inspect, select, text, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from config.keys import Keyring
from db.engine import Database
from db.schema import load_table_modules
from db.staff import Revocation
from db.tables import metadata, staff

if TYPE_CHECKING:
    from config.settings import Settings

MANIFEST = "manifest.json"
PREFIX = "oms-backup-"
PARTIAL = ".partial"
SQLITE_COPY = "read-model.sqlite.enc"
PG_DUMP = "read-model.pgdump.enc"
TEMPORAL_COPY = "temporal-dev-server.sqlite.enc"
#: The only files a backup folder may name: anything else in a manifest is refused.
ALLOWED_FILES = frozenset({SQLITE_COPY, PG_DUMP, TEMPORAL_COPY})

#: Version 2: encrypted files and a signed manifest (version 1 was neither).
FORMAT = 2
SIGNATURE_PREFIX = "hmac-sha256:"
MAX_MANIFEST_BYTES = 4 << 20

MAGIC = b"OMSBKENC"
FILE_VERSION = 1
CHUNK_BYTES = 1 << 20
MAX_CHUNK_BYTES = 16 << 20
SALT_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
MAC_INFO = b"oms-backup/v2/manifest-hmac-sha256"
FILE_KEY_INFO = b"oms-backup/v2/file-aes-256-gcm"


class BackupError(Exception):
    """A backup that cannot be made, checked or restored; the message says why."""


def plain_file_name(name: object) -> str:
    """`name`, if it is one of the files a backup holds; checked before anything is opened."""
    if not isinstance(name, str) or not name:
        raise BackupError(f"manifest names a file {name!r}: not a file name")
    if "/" in name or "\\" in name or "\0" in name or name in {".", ".."} or ".." in name:
        raise BackupError(f"manifest names a file {name!r}: not a plain file name, refused")
    if name not in ALLOWED_FILES:
        raise BackupError(f"manifest names a file {name!r}: not a file a backup holds, refused")
    return name


class FileDigest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    #: SHA-256 and size of the file as stored (encrypted).
    sha256: str
    bytes: int

    @field_validator("name")
    @classmethod
    def _plain(cls, value: str) -> str:
        try:
            return plain_file_name(value)
        except BackupError as error:
            raise ValueError(str(error)) from None


class TableDigest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: int
    sha256: str


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: int = FORMAT
    backup_id: str
    created_at: datetime
    #: `sqlite` or `postgresql`: which restore the read-model file needs.
    dialect: str
    #: The source, without any password.
    source: str
    #: The backup key (of the keyring) that encrypted the files and signs this manifest.
    key_id: str
    cipher: Literal["AES-256-GCM"] = "AES-256-GCM"
    chunk_bytes: int = CHUNK_BYTES
    read_model: str
    temporal_db: str | None = None
    files: list[FileDigest]
    tables: dict[str, TableDigest]

    @field_validator("read_model", "temporal_db")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        try:
            return None if value is None else plain_file_name(value)
        except BackupError as error:
            raise ValueError(str(error)) from None


# --- keys ------------------------------------------------------------------------------------


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def _write_exclusive(path: Path, data: bytes) -> None:
    """Create `path` (it must not exist) with mode 0600 from the start and write `data`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _key_file_bytes(keyring: Keyring) -> bytes:
    body = {"active": keyring.active, "keys": keyring.to_strings()}
    return (json.dumps(body, indent=2) + "\n").encode()


def _create_key_file(path: Path, keyring: Keyring) -> None:
    """Create the key file whole and 0600, or leave the one another process made first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    _write_exclusive(temporary, _key_file_bytes(keyring))
    try:
        os.link(temporary, path)  # atomic, and fails if a key file exists: never replaced
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def _replace_key_file(path: Path, keyring: Keyring) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    _write_exclusive(temporary, _key_file_bytes(keyring))
    temporary.replace(path)


def _read_key_file(path: Path) -> Keyring:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as error:
        raise BackupError(f"cannot read the backup key file {path}: {error}") from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if mode & 0o077:
            raise BackupError(
                f"the backup key file {path} is readable by others (mode {mode & 0o777:o}): "
                f"chmod 600 {path}"
            )
        raw = handle.read()
    try:
        data = json.loads(raw)
        return Keyring.from_strings(data["keys"], data["active"])
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise BackupError(f"the backup key file {path} is not a keyring: {error}") from None


def _key_file(settings: Settings, backup_dir: Path | None = None) -> Path:
    """The key file of the settings, refused inside the backup directory."""
    path = settings.resolved_backup_key_file
    for root in {settings.resolved_backup_dir, *([backup_dir] if backup_dir else [])}:
        if _inside(path, root):
            raise BackupError(
                f"the backup key file {path} is inside the backup directory {root}: whoever "
                "holds the backups would hold the key; set OMS_BACKUP_KEY_FILE elsewhere"
            )
    return path


def backup_keyring(
    settings: Settings, *, create: bool = False, backup_dir: Path | None = None
) -> Keyring:
    """The backup keys: `OMS_BACKUP_KEYS`/`OMS_BACKUP_ACTIVE_KEY`, else the key file (made
    on first use when `create`). A key file inside `backup_dir` is refused."""
    if settings.backup_keys:
        active = settings.backup_active_key
        if not active and len(settings.backup_keys) == 1:
            [active] = settings.backup_keys
        try:
            return Keyring.from_strings(settings.backup_keys, active)
        except (ValueError, binascii.Error) as error:
            raise BackupError(f"OMS_BACKUP_KEYS / OMS_BACKUP_ACTIVE_KEY: {error}") from None
    path = _key_file(settings, backup_dir)
    if not path.exists():
        if not create:
            raise BackupError(
                f"no backup key: set OMS_BACKUP_KEYS (and OMS_BACKUP_ACTIVE_KEY), or put back "
                f"the key file {path} from where you keep its copy"
            )
        _create_key_file(path, Keyring.generate())
    return _read_key_file(path)


def new_backup_key(settings: Settings) -> tuple[Keyring, Path]:
    """Create the key file, or rotate it: a new active key, the old ones kept to restore."""
    if settings.backup_keys:
        raise BackupError(
            "the backup keys come from OMS_BACKUP_KEYS: add a new key there and make it "
            "OMS_BACKUP_ACTIVE_KEY (keep the old ones to restore older backups)"
        )
    path = _key_file(settings)
    if path.exists():
        keyring = _read_key_file(path).rotated()
        _replace_key_file(path, keyring)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        keyring = Keyring.generate()
        _create_key_file(path, keyring)
    return _read_key_file(path), path


def _derive(key: bytes, info: bytes, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=salt, info=info).derive(key)


def _key(keyring: Keyring, key_id: str) -> bytes:
    key = keyring.keys.get(key_id)
    if key is None:
        raise BackupError(
            f"the backup was made with key {key_id!r}, which is not among the backup keys "
            "(OMS_BACKUP_KEYS or the key file)"
        )
    return key


# --- the encrypted file format -----------------------------------------------------------------


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def _read_full(source: _Readable, size: int) -> bytes:
    """`size` bytes, fewer only at the end (pipes return short reads)."""
    parts: list[bytes] = []
    wanted = size
    while wanted:
        part = source.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def _blocks(source: _Readable, size: int) -> Iterator[tuple[bytes, bool]]:
    """Blocks of `size` bytes (the last may be shorter, or empty for an empty source), each
    with whether it is the last: one block of look-ahead."""
    current = _read_full(source, size)
    while True:
        following = _read_full(source, size) if len(current) == size else b""
        yield current, not following
        if not following:
            return
        current = following


def _header(key_id: str, salt: bytes, chunk_bytes: int, context: str) -> bytes:
    kid, ctx = key_id.encode("ascii"), context.encode()
    return (
        MAGIC
        + bytes([FILE_VERSION])
        + struct.pack(">I", chunk_bytes)
        + salt
        + struct.pack(">B", len(kid))
        + kid
        + struct.pack(">H", len(ctx))
        + ctx
    )


def _aad(header_digest: bytes, index: int, final: bool) -> bytes:
    return header_digest + struct.pack(">QB", index, 1 if final else 0)


class _Counting:
    """Passes writes on (or drops them), keeping the SHA-256 and size of what went by."""

    def __init__(self, target: IO[bytes] | None) -> None:
        self.target = target
        self.digest = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.bytes += len(data)
        if self.target is not None:
            self.target.write(data)


class _Hashing:
    """Reads from a source, keeping the SHA-256 and size of what was read."""

    def __init__(self, source: _Readable) -> None:
        self.source = source
        self.seen = _Counting(None)

    def read(self, size: int, /) -> bytes:
        data = self.source.read(size)
        self.seen.write(data)
        return data

    def exactly(self, size: int, context: str) -> bytes:
        data = _read_full(self, size)
        if len(data) != size:
            raise BackupError(f"{context}: truncated encrypted file")
        return data


def encrypt_stream(
    source: _Readable,
    target: IO[bytes],
    keyring: Keyring,
    context: str,
    *,
    chunk_bytes: int = CHUNK_BYTES,
) -> tuple[str, int]:
    """Encrypt `source` into `target` with the active key; returns the SHA-256 and size of
    what was written."""
    out = _Counting(target)
    salt = os.urandom(SALT_BYTES)
    header = _header(keyring.active, salt, chunk_bytes, context)
    cipher = AESGCM(_derive(keyring.keys[keyring.active], FILE_KEY_INFO, salt))
    header_digest = hashlib.sha256(header).digest()
    out.write(header)
    for index, (plain, final) in enumerate(_blocks(source, chunk_bytes)):
        nonce = os.urandom(NONCE_BYTES)
        out.write(nonce + cipher.encrypt(nonce, plain, _aad(header_digest, index, final)))
    return out.digest.hexdigest(), out.bytes


def decrypt_stream(
    source: _Readable,
    target: IO[bytes] | None,
    keyring: Keyring,
    *,
    key_id: str,
    context: str,
) -> tuple[str, int]:
    """Decrypt `source` into `target` (None: only check it), authenticating every chunk
    before its plaintext is passed on; returns the SHA-256 and size of what was read."""
    reader = _Hashing(source)
    fixed = reader.exactly(len(MAGIC) + 1 + 4 + SALT_BYTES + 1, context)
    if fixed[: len(MAGIC)] != MAGIC or fixed[len(MAGIC)] != FILE_VERSION:
        raise BackupError(f"{context}: not an encrypted backup file (format {FILE_VERSION})")
    (chunk_bytes,) = struct.unpack(">I", fixed[len(MAGIC) + 1 : len(MAGIC) + 5])
    salt = fixed[len(MAGIC) + 5 : len(MAGIC) + 5 + SALT_BYTES]
    kid = reader.exactly(fixed[-1], context)
    ctx_length = reader.exactly(2, context)
    ctx = reader.exactly(struct.unpack(">H", ctx_length)[0], context)
    header = fixed + kid + ctx_length + ctx
    if not 0 < chunk_bytes <= MAX_CHUNK_BYTES:
        raise BackupError(f"{context}: chunk size {chunk_bytes} out of range")
    if kid != key_id.encode("ascii", "replace") or ctx != context.encode():
        raise BackupError(f"{context}: the file belongs to another backup, file or key")
    cipher = AESGCM(_derive(_key(keyring, key_id), FILE_KEY_INFO, salt))
    header_digest = hashlib.sha256(header).digest()
    block_bytes = NONCE_BYTES + chunk_bytes + TAG_BYTES
    for index, (block, final) in enumerate(_blocks(reader, block_bytes)):
        if len(block) < NONCE_BYTES + TAG_BYTES:
            raise BackupError(f"{context}: truncated encrypted file")
        nonce, sealed = block[:NONCE_BYTES], block[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, _aad(header_digest, index, final))
        except InvalidTag:
            raise BackupError(
                f"{context}: chunk {index} does not decrypt: the file is damaged or altered"
            ) from None
        if target is not None:
            target.write(plain)
    return reader.seen.digest.hexdigest(), reader.seen.bytes


def _encrypt_into(source: IO[bytes], path: Path, keyring: Keyring, context: str) -> FileDigest:
    """A new file (0600 from creation) holding `source` encrypted."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as target:
        sha256, size = encrypt_stream(source, target, keyring, context)
        target.flush()
        os.fsync(target.fileno())
    return FileDigest(name=path.name, sha256=sha256, bytes=size)


def _encrypt_file(plain: Path, path: Path, keyring: Keyring, context: str) -> FileDigest:
    with plain.open("rb") as source:
        return _encrypt_into(source, path, keyring, context)


def _context(manifest_or_id: Manifest | str, name: str) -> str:
    backup = manifest_or_id if isinstance(manifest_or_id, str) else manifest_or_id.backup_id
    return f"{backup}/{name}"


# --- digests ---------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """One canonical form per value, whichever database it was read from."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def table_digests(conn: Connection) -> dict[str, TableDigest]:
    """Row count and SHA-256 of the rows (in primary-key order) of every read-model table."""
    load_table_modules()
    present = set(inspect(conn).get_table_names())
    digests: dict[str, TableDigest] = {}
    for table in metadata.sorted_tables:
        if table.name not in present:
            continue
        order = list(table.primary_key.columns) or list(table.columns)
        digest = hashlib.sha256()
        rows = 0
        for row in conn.execute(select(table).order_by(*order)):
            line = json.dumps([_plain(v) for v in row], sort_keys=True, default=str)
            digest.update(line.encode() + b"\n")
            rows += 1
        digests[table.name] = TableDigest(rows=rows, sha256=digest.hexdigest())
    return digests


def _sqlite_file_digests(path: Path) -> dict[str, TableDigest]:
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true", hide_parameters=True)
    try:
        with engine.connect() as conn:
            return table_digests(conn)
    finally:
        engine.dispose()


# --- copies ----------------------------------------------------------------------------------


def sqlite_copy(source: Path, target: Path) -> None:
    """Copy a live SQLite database with the online backup API; the copy is a single file."""
    if not source.exists():
        raise BackupError(f"{source}: no such database file")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        # WAL needs side files; a backup must stand alone.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


@contextmanager
def _private_folder(near: Path | None) -> Iterator[Path]:
    """A temporary folder (mode 0700) for plaintext copies: next to `near` (the database
    it copies, on the same machine and disk), or in the system's temporary directory."""
    with tempfile.TemporaryDirectory(
        prefix=".oms-backup-", dir=near if near is not None and near.is_dir() else None
    ) as folder:
        yield Path(folder)


def _encrypted_sqlite_copy(
    source: Path, target: Path, keyring: Keyring, context: str
) -> tuple[FileDigest, dict[str, TableDigest]]:
    if not source.exists():
        raise BackupError(f"{source}: no such database file")
    with _private_folder(source.parent) as private:
        plain = private / "copy.sqlite"
        sqlite_copy(source, plain)
        tables = _sqlite_file_digests(plain)
        return _encrypt_file(plain, target, keyring, context), tables


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL for pg_dump/pg_restore, and an environment carrying the password (not argv)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _start(command: list[str], env: dict[str, str], **streams: Any) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(command, env=env, **streams)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL client tools)") from None


def _finish(process: subprocess.Popen[bytes], errors: IO[bytes], name: str) -> None:
    if process.wait() != 0:
        errors.seek(0)
        message = errors.read().decode(errors="replace").strip()[-2000:]
        raise BackupError(f"{name} failed: {message}")


def _pg_dump_encrypted(
    url: URL, target: Path, keyring: Keyring, context: str
) -> tuple[FileDigest, dict[str, TableDigest]]:
    """pg_dump, encrypted as it streams, and the table digests from one exported snapshot:
    both see the same data."""
    engine = create_engine(url, isolation_level="REPEATABLE READ", hide_parameters=True)
    try:
        with engine.connect() as conn, conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            dsn, env = _libpq(url)
            command = [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--dbname={dsn}",
            ]
            with tempfile.TemporaryFile() as errors:
                process = _start(command, env, stdout=subprocess.PIPE, stderr=errors)
                assert process.stdout is not None
                try:
                    with process.stdout:
                        digest = _encrypt_into(process.stdout, target, keyring, context)
                except BaseException:
                    process.kill()
                    process.wait()
                    raise
                _finish(process, errors, "pg_dump")
            return digest, table_digests(conn)
    finally:
        engine.dispose()


# --- backup ----------------------------------------------------------------------------------


def backup_id(now: datetime) -> str:
    return f"{PREFIX}{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def manifest_signature(body: dict[str, Any], keyring: Keyring, key_id: str) -> str:
    """`hmac-sha256:<hex>` of the manifest body (without its `signature`)."""
    mac_key = _derive(_key(keyring, key_id), MAC_INFO)
    return SIGNATURE_PREFIX + hmac.new(mac_key, _canonical(body), hashlib.sha256).hexdigest()


def signed_manifest_bytes(manifest: Manifest, keyring: Keyring) -> bytes:
    body = manifest.model_dump(mode="json")
    signature = manifest_signature(body, keyring, manifest.key_id)
    return (json.dumps({**body, "signature": signature}, indent=2) + "\n").encode()


def make_backup(
    db: Database,
    root: Path,
    *,
    keyring: Keyring,
    keep: int,
    temporal_db_file: Path | None = None,
    now: datetime | None = None,
) -> tuple[Path, Manifest, list[Path]]:
    """Back up the read model (and the dev server's file), encrypted with the keyring's
    active key; returns the folder, its manifest, and the old backups removed to keep
    only `keep`."""
    now = now or datetime.now(UTC)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = backup_id(now)
    work = root / (name + PARTIAL)
    work.mkdir(mode=0o700)
    try:
        files: list[FileDigest] = []
        if db.is_sqlite:
            source = Path(db.url.database or "")
            read_model = SQLITE_COPY
            digest, tables = _encrypted_sqlite_copy(
                source, work / read_model, keyring, _context(name, read_model)
            )
        else:
            read_model = PG_DUMP
            digest, tables = _pg_dump_encrypted(
                db.url, work / read_model, keyring, _context(name, read_model)
            )
        files.append(digest)
        temporal = None
        if temporal_db_file is not None:
            temporal = TEMPORAL_COPY
            copied, _ = _encrypted_sqlite_copy(
                temporal_db_file, work / temporal, keyring, _context(name, temporal)
            )
            files.append(copied)
        manifest = Manifest(
            backup_id=name,
            created_at=now,
            dialect=db.dialect,
            source=db.url.render_as_string(hide_password=True),
            key_id=keyring.active,
            read_model=read_model,
            temporal_db=temporal,
            files=sorted(files, key=lambda f: f.name),
            tables=tables,
        )
        _write_exclusive(work / MANIFEST, signed_manifest_bytes(manifest, keyring))
        final = root / name
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final, manifest, prune(root, keep, now)


def _complete_folders(root: Path) -> list[Path]:
    """Backup folders with a manifest, of any format, oldest first (names sort by time)."""
    if not root.exists():
        return []
    return [
        folder
        for folder in sorted(root.iterdir())
        if folder.is_dir()
        and folder.name.startswith(PREFIX)
        and not folder.name.endswith(PARTIAL)
        and (folder / MANIFEST).exists()
    ]


def list_backups(root: Path) -> list[tuple[Path, Manifest | None]]:
    """Complete backups, oldest first, with their manifests as written (not yet checked:
    `verify_files` does that); None for a manifest of an older format or unreadable."""
    found: list[tuple[Path, Manifest | None]] = []
    for folder in _complete_folders(root):
        try:
            found.append((folder, read_manifest(folder)))
        except BackupError:
            found.append((folder, None))
    return found


def prune(root: Path, keep: int, now: datetime) -> list[Path]:
    """Keep the newest `keep` backups (older formats count too, and go first); drop older
    ones and attempts abandoned over a day ago."""
    complete = _complete_folders(root)
    doomed = complete[: max(len(complete) - keep, 0)]
    for folder in root.glob(f"{PREFIX}*{PARTIAL}"):
        modified = datetime.fromtimestamp(folder.stat().st_mtime, UTC)
        if now - modified > timedelta(days=1):
            doomed.append(folder)
    for folder in doomed:
        shutil.rmtree(folder)
    return doomed


# --- check and restore -----------------------------------------------------------------------


def _open_in(folder: Path, name: str) -> IO[bytes]:
    """A file of the backup folder: a plain name, a regular file, no symbolic link."""
    path = folder / plain_file_name(name) if name != MANIFEST else folder / MANIFEST
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise BackupError(f"{path}: missing") from None
    except OSError as error:
        raise BackupError(f"{path}: cannot be opened ({error})") from None
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        handle.close()
        raise BackupError(f"{path}: not a regular file")
    return handle


def _raw_manifest(folder: Path) -> dict[str, Any]:
    try:
        with _open_in(folder, MANIFEST) as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
        if len(raw) > MAX_MANIFEST_BYTES:
            raise BackupError(f"{folder / MANIFEST}: too large")
        body = json.loads(raw)
    except (OSError, ValueError) as error:
        raise BackupError(f"{folder}: no readable {MANIFEST} ({error})") from None
    if not isinstance(body, dict):
        raise BackupError(f"{folder / MANIFEST}: not a manifest")
    if body.get("format") != FORMAT:
        raise BackupError(
            f"{folder}: manifest format {body.get('format', 1)}, not {FORMAT}: an unencrypted, "
            "unsigned backup from before the security review; it cannot be restored"
        )
    return body


def _check_names(body: dict[str, Any]) -> None:
    """Every file name the manifest mentions is a plain name of the allowed set."""
    files = body.get("files")
    if not isinstance(files, list):
        raise BackupError("manifest lists no files")
    names = [plain_file_name(f.get("name") if isinstance(f, dict) else f) for f in files]
    if len(set(names)) != len(names):
        raise BackupError("manifest lists a file twice")
    for field in ("read_model", "temporal_db"):
        value = body.get(field)
        if value is None and field == "temporal_db":
            continue
        if plain_file_name(value) not in names:
            raise BackupError(f"manifest's {field} {value!r} is not among its files")


def read_manifest(folder: Path) -> Manifest:
    """The manifest as written, without checking its signature (for listings)."""
    body = _raw_manifest(folder)
    body.pop("signature", None)
    _check_names(body)
    try:
        return Manifest.model_validate(body)
    except ValidationError as error:
        raise BackupError(f"{folder / MANIFEST}: {error}") from None


def check_manifest(folder: Path, keyring: Keyring) -> Manifest:
    """The manifest, once its file names are plain and its signature is right."""
    body = _raw_manifest(folder)
    signature = body.pop("signature", None)
    _check_names(body)
    if not isinstance(signature, str) or not signature.startswith(SIGNATURE_PREFIX):
        raise BackupError(f"{folder / MANIFEST}: not signed, refused")
    key_id = body.get("key_id")
    if not isinstance(key_id, str):
        raise BackupError(f"{folder / MANIFEST}: names no key")
    if not hmac.compare_digest(signature, manifest_signature(body, keyring, key_id)):
        raise BackupError(
            f"{folder / MANIFEST}: signature mismatch: the manifest was altered, or signed "
            "without this backup key; refused"
        )
    try:
        return Manifest.model_validate(body)
    except ValidationError as error:
        raise BackupError(f"{folder / MANIFEST}: {error}") from None


def _decrypt_member(
    folder: Path, manifest: Manifest, entry: FileDigest, keyring: Keyring, target: IO[bytes] | None
) -> None:
    """Decrypt one file into `target` (None: only check it); it must have the size and
    SHA-256 the manifest records, and every chunk must authenticate."""
    damaged = BackupError(f"{folder / entry.name}: checksum mismatch, the backup is damaged")
    with _open_in(folder, entry.name) as source:
        if os.fstat(source.fileno()).st_size != entry.bytes:
            raise damaged
        reader = _Hashing(source)
        try:
            decrypt_stream(
                reader,
                target,
                keyring,
                key_id=manifest.key_id,
                context=_context(manifest, entry.name),
            )
        except BackupError:
            while reader.read(1 << 20):  # a damaged file says so before the failed chunk
                pass
            if reader.seen.digest.hexdigest() != entry.sha256:
                raise damaged from None
            raise
    if reader.seen.digest.hexdigest() != entry.sha256 or reader.seen.bytes != entry.bytes:
        raise damaged


def verify_files(folder: Path, keyring: Keyring) -> Manifest:
    """The manifest, once it is signed by a backup key, names only plain file names, and
    every file it lists is there with its recorded size and SHA-256 and decrypts."""
    manifest = check_manifest(folder, keyring)
    for entry in manifest.files:
        _decrypt_member(folder, manifest, entry, keyring, None)
    return manifest


def _entry(manifest: Manifest, name: str) -> FileDigest:
    for entry in manifest.files:
        if entry.name == name:
            return entry
    raise BackupError(f"the manifest lists no file {name}")


def decrypt_file(folder: Path, name: str, target: Path, keyring: Keyring) -> Manifest:
    """Write the plaintext of one file of a (checked) backup to `target` (mode 0600)."""
    manifest = check_manifest(folder, keyring)
    entry = _entry(manifest, plain_file_name(name))
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            _decrypt_member(folder, manifest, entry, keyring, out)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return manifest


def _our_tables(conn: Connection) -> list[Any]:
    load_table_modules()
    present = set(inspect(conn).get_table_names())
    return [table for table in metadata.sorted_tables if table.name in present]


def _has_rows(conn: Connection) -> bool:
    return any(conn.execute(select(t).limit(1)).first() is not None for t in _our_tables(conn))


@contextmanager
def _connection(url: str) -> Iterator[Connection]:
    engine = create_engine(url, hide_parameters=True)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _pg_restore_encrypted(
    folder: Path, manifest: Manifest, keyring: Keyring, url: URL, *, clean: bool
) -> None:
    """pg_restore of the decrypted dump as it streams, in one transaction: a failure half
    way (a chunk that does not decrypt) leaves the database as it was."""
    dsn, env = _libpq(url)
    command = ["pg_restore", "--no-owner", "--no-privileges", "--single-transaction"]
    if clean:  # an empty schema made by `oms db init` is replaced too
        command += ["--clean", "--if-exists"]
    with tempfile.TemporaryFile() as errors:
        process = _start(
            [*command, f"--dbname={dsn}"],
            env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        assert process.stdin is not None
        try:
            _decrypt_member(
                folder, manifest, _entry(manifest, manifest.read_model), keyring, process.stdin
            )
            process.stdin.close()
        except BrokenPipeError:  # pg_restore stopped early: its message says why
            pass
        except BaseException:
            process.kill()  # never let a partial input commit
            process.wait()
            raise
        _finish(process, errors, "pg_restore")


def restore_backup(
    folder: Path,
    database_url: str,
    keyring: Keyring,
    *,
    force: bool = False,
    verified: Manifest | None = None,
) -> dict[str, TableDigest]:
    """Restore the read model into the database at `database_url`, then prove it: every
    table's row count and digest must equal the manifest's. The backup is checked first
    (`verify_files`, unless `verified` is its result); a database with order data in it
    is refused unless `force`."""
    manifest = verified or verify_files(folder, keyring)
    url = make_url(database_url)
    dialect = url.get_backend_name()
    if dialect != manifest.dialect:
        raise BackupError(f"this backup is of a {manifest.dialect} database, not {dialect}")
    if dialect == "sqlite":
        target = Path(url.database or "")
        if target.exists() and not force:
            with _connection(database_url) as conn:
                if _has_rows(conn):
                    raise BackupError(f"{target} holds data; restore with --force to replace it")
        target.parent.mkdir(parents=True, exist_ok=True)
        with _private_folder(target.parent) as private:
            plain = private / "read-model.sqlite"
            with plain.open("xb") as out:
                _decrypt_member(
                    folder, manifest, _entry(manifest, manifest.read_model), keyring, out
                )
            sqlite_copy(plain, target)
    else:
        with _connection(database_url) as conn:
            occupied, has_schema = _has_rows(conn), bool(_our_tables(conn))
        if occupied and not force:
            raise BackupError("the target database holds data; restore with --force to replace it")
        _pg_restore_encrypted(folder, manifest, keyring, url, clean=has_schema)
    with _connection(database_url) as conn:
        restored = table_digests(conn)
    if restored != manifest.tables:
        differing = sorted(
            name
            for name in set(restored) | set(manifest.tables)
            if restored.get(name) != manifest.tables.get(name)
        )
        raise BackupError(f"restored tables differ from the backup: {', '.join(differing)}")
    return restored


def restore_temporal_db(
    folder: Path, target: Path, keyring: Keyring, *, verified: Manifest | None = None
) -> None:
    """Put the dev server's database back (the dev server must be stopped)."""
    manifest = verified or verify_files(folder, keyring)
    if manifest.temporal_db is None:
        raise BackupError(f"{folder} holds no copy of the dev server's database")
    target.parent.mkdir(parents=True, exist_ok=True)
    with _private_folder(target.parent) as private:
        plain = private / "temporal.sqlite"
        with plain.open("xb") as out:
            _decrypt_member(folder, manifest, _entry(manifest, manifest.temporal_db), keyring, out)
        for side in (
            target.with_name(target.name + "-wal"),
            target.with_name(target.name + "-shm"),
        ):
            side.unlink(missing_ok=True)
        sqlite_copy(plain, target)


# --- revocations -----------------------------------------------------------------------------


def read_revocations(log: Path) -> list[Revocation]:
    """The revocation log (db/staff.py), oldest first; none if there is no log yet. A line
    that cannot be read is refused (it might be a revocation)."""
    try:
        fd = os.open(log, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return []
    except OSError as error:
        raise BackupError(f"cannot read the revocation log {log}: {error}") from None
    entries: list[Revocation] = []
    with os.fdopen(fd, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                entries.append(Revocation.model_validate_json(line))
            except ValidationError as error:
                raise BackupError(
                    f"{log}:{number}: not a revocation ({error.errors()[0]['msg']})"
                ) from None
    return entries


def reapply_revocations(database_url: str, entries: list[Revocation]) -> int:
    """Revoke again, in order, what the log says was revoked or rotated away; returns how
    many staff rows that changed (entries the restored database already had change none)."""
    if not entries:
        return 0
    changed = 0
    engine = create_engine(database_url, hide_parameters=True)
    try:
        with engine.begin() as conn:
            for entry in entries:
                if entry.action == "revoke":
                    statement = (
                        update(staff)
                        .where(staff.c.token_hash == entry.token_hash, staff.c.revoked_at.is_(None))
                        .values(revoked_at=entry.at)
                    )
                else:
                    # The old token stops working; the one issued in its place works, as it
                    # did before the restore (without a new hash: the member is revoked).
                    values: dict[str, Any] = (
                        {"token_hash": entry.new_token_hash}
                        if entry.new_token_hash
                        else {"revoked_at": entry.at}
                    )
                    statement = (
                        update(staff).where(staff.c.token_hash == entry.token_hash).values(values)
                    )
                changed += conn.execute(statement).rowcount
    except SQLAlchemyError as error:
        raise BackupError(f"re-applying the revocation log failed: {error}") from None
    finally:
        engine.dispose()
    return changed
