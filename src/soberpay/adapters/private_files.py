"""Files that hold personal data or keys are private to the service's user, whatever the umask.

The data directory is 0700; the database, its ``-wal``/``-shm``/``-journal`` files and key files are 0600.
Modes are set explicitly (``chmod``) rather than trusted to the umask, and corrected on every start for
files created by older versions.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty if missing, and make it 0600."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    os.chmod(path, FILE_MODE)
    return path


def private_sqlite(db: Path) -> None:
    """The database file 0600 before SQLite opens it: SQLite creates its WAL and shared-memory files with the
    database file's mode, so they follow. Side files left by older versions are corrected too."""
    private_file(db)
    for suffix in SQLITE_SIDE_FILES:
        side = db.with_name(db.name + suffix)
        if side.exists():
            os.chmod(side, FILE_MODE)
