"""Backups: the database (SQLite online backup API, or ``pg_dump``/``pg_restore`` for PostgreSQL) and the
keys, exported apart into a file encrypted with a passphrase (argon2id → AES-256-GCM).

The two are separate on purpose: a stolen database backup without the key file (and its passphrase)
reveals no template or ID number.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import URL, make_url

from soberpay.adapters.private_files import FILE_MODE, private_dir, private_file, private_sqlite
from soberpay.errors import Conflict, InvalidInput, NotFound

KEY_FILES = ("keys.json", "web_secret.key")
KEYS_FORMAT = "soberpay-keys/1"
MIN_PASSPHRASE = 12
# argon2id for an offline file: costlier than the login hasher, since an attacker holding the file can try
# passphrases at leisure (RFC 9106 second recommended option: t=3, 64 MiB).
KDF = {"name": "argon2id", "time_cost": 3, "memory_cost": 65_536, "parallelism": 1}
PG_TIMEOUT_S = 3600


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise InvalidInput("only a file SQLite database can be backed up", url=url)
    return Path(database)


def _check_sqlite(path: Path) -> None:
    """A readable SQLite file that holds a soberpay schema, checked before anything is overwritten."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
            ok = con.execute("PRAGMA integrity_check").fetchone()
            stamped = con.execute("SELECT name FROM sqlite_master WHERE name = 'alembic_version'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise InvalidInput("not a SQLite database backup", file=str(path)) from exc
    if ok is None or ok[0] != "ok" or stamped is None:
        raise InvalidInput("damaged or foreign SQLite backup (integrity check failed)", file=str(path))


def _pg(url: str) -> tuple[str, dict[str, str]]:
    """libpq connection URI without the password (that goes in PGPASSWORD, never on a command line)."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    if shutil.which(cmd[0]) is None:
        raise NotFound(f"{cmd[0]} is not installed (Debian: postgresql-client)")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=PG_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise InvalidInput(f"{cmd[0]} failed: {proc.stderr.strip()[-500:]}")


def _copy_sqlite(source_uri: str, target: str) -> None:
    with closing(sqlite3.connect(source_uri, uri=True)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def backup_database(url: str, dest: Path) -> Path:
    """Write a consistent copy of the live database to ``dest`` (0600). SQLite: the online backup API,
    safe while the service runs. PostgreSQL: ``pg_dump`` custom format, one snapshot."""
    if dest.exists():
        raise Conflict("backup file exists already", file=str(dest))
    private_dir(dest.parent)
    part = dest.with_name(dest.name + ".part")  # never leave a half-written file under the final name
    private_file(part)
    try:
        if is_sqlite(url):
            source = _sqlite_path(url)
            if not source.is_file():
                raise NotFound("database file not found", file=str(source))
            _copy_sqlite(f"file:{source}?mode=ro", str(part))
        else:
            conninfo, env = _pg(url)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={part}", conninfo], env)
            os.chmod(part, FILE_MODE)
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    return dest


def restore_database(url: str, backup: Path, force: bool = False) -> None:
    """Bring the database back from ``backup``. The backup is checked first; an existing database is
    only replaced with ``force``. The caller migrates afterwards (a backup may predate the code)."""
    if not backup.is_file():
        raise NotFound("backup file not found", file=str(backup))
    if is_sqlite(url):
        _check_sqlite(backup)
        target = _sqlite_path(url)
        if target.exists() and target.stat().st_size > 0 and not force:
            raise Conflict("a database exists already; stop the service and pass --force to replace it")
        private_dir(target.parent)
        private_sqlite(target)
        # The backup API writes into the target under its own lock and through its WAL, so a stale -wal
        # file of the old database cannot be replayed over the restored pages (a file copy could).
        _copy_sqlite(f"file:{backup}?mode=ro", str(target))
        return
    conninfo, env = _pg(url)
    _run(["pg_restore", "--list", str(backup)], env)  # a readable archive, before touching the database
    cmd = ["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", f"--dbname={conninfo}"]
    if force:
        cmd += ["--clean", "--if-exists"]
    _run([*cmd, str(backup)], env)


def _derive(passphrase: str, salt: bytes, kdf: dict[str, Any]) -> bytes:
    return hash_secret_raw(
        passphrase.encode(),
        salt,
        time_cost=int(kdf["time_cost"]),
        memory_cost=int(kdf["memory_cost"]),
        parallelism=int(kdf["parallelism"]),
        hash_len=32,
        type=Type.ID,
    )


def _header_bytes(header: dict[str, Any]) -> bytes:
    # The header (format, KDF parameters, salt) is authenticated: weakening the KDF in the file breaks the tag.
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def export_keys(key_dir: Path, dest: Path, passphrase: str) -> list[str]:
    """Encrypt the key files of ``key_dir`` into ``dest`` (0600). Returns the names exported."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(f"the backup passphrase needs at least {MIN_PASSPHRASE} characters")
    files = {name: (key_dir / name).read_text() for name in KEY_FILES if (key_dir / name).is_file()}
    if not files:
        raise NotFound("no key files to export (keys from the environment are kept by your secret manager)")
    if dest.exists():
        raise Conflict("key backup file exists already", file=str(dest))
    salt = secrets.token_bytes(16)
    header = {"format": KEYS_FORMAT, "kdf": KDF, "salt": base64.b64encode(salt).decode()}
    nonce = secrets.token_bytes(12)
    key = _derive(passphrase, salt, KDF)
    sealed = AESGCM(key).encrypt(nonce, json.dumps({"files": files}).encode(), _header_bytes(header))
    doc = {**header, "nonce": base64.b64encode(nonce).decode(), "ciphertext": base64.b64encode(sealed).decode()}
    private_dir(dest.parent)
    private_file(dest).write_text(json.dumps(doc))
    return sorted(files)


def read_keys(backup: Path, passphrase: str) -> dict[str, str]:
    """Decrypt a key backup; a wrong passphrase or any change to the file is one clear error."""
    try:
        doc = json.loads(backup.read_text())
        header = {"format": doc["format"], "kdf": doc["kdf"], "salt": doc["salt"]}
        nonce, sealed = base64.b64decode(doc["nonce"]), base64.b64decode(doc["ciphertext"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput("not a soberpay key backup", file=str(backup)) from exc
    if header["format"] != KEYS_FORMAT or header["kdf"] != KDF:
        raise InvalidInput("unsupported key backup format", file=str(backup))
    key = _derive(passphrase, base64.b64decode(header["salt"]), header["kdf"])
    try:
        plain = AESGCM(key).decrypt(nonce, sealed, _header_bytes(header))
    except InvalidTag as exc:
        raise InvalidInput("wrong passphrase or damaged key backup", file=str(backup)) from exc
    files: dict[str, str] = json.loads(plain)["files"]
    if not set(files) <= set(KEY_FILES):
        raise InvalidInput("unexpected file in key backup", file=str(backup))
    return files


def import_keys(backup: Path, key_dir: Path, passphrase: str, force: bool = False) -> list[str]:
    """Write the decrypted key files into ``key_dir`` (0700, files 0600). Different existing keys are only
    replaced with ``force``: overwriting the keys of live data would make it unreadable."""
    files = read_keys(backup, passphrase)
    clashes = [n for n, text in files.items() if (key_dir / n).is_file() and (key_dir / n).read_text() != text]
    if clashes and not force:
        raise Conflict("different keys exist already; pass --force to replace them", files=",".join(clashes))
    private_dir(key_dir)
    for name, text in files.items():
        tmp = private_file(key_dir / f".{name}.restore")
        tmp.write_text(text)
        os.replace(tmp, key_dir / name)
    return sorted(files)
