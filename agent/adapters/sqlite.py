"""The one SQLite every part of the agent opens its database with.

SQLite 3.7.0 to 3.51.2 has the WAL-reset bug (sqlite.org/wal.html): two connections to one WAL database, and
tight timing, can corrupt it or lose commits. The daemon, the CLI's twins of the mail commands and Datasette are
exactly such connections, and Python's own `sqlite3` links the system's SQLite (3.40.1 on Debian 12). The
`pysqlite3` wheel bundles a fixed one (3.53.4); sqlite-utils and Datasette use it too when it is installed. Every
module imports `sqlite3` from here, so that one connection's errors are the classes the others catch."""

try:
    from pysqlite3 import dbapi2 as sqlite3
except ImportError:  # a platform without the wheel: the system's SQLite, if it is new enough (see `check`)
    import sqlite3  # type: ignore[no-redef]

FIXED = (3, 51, 3)  # the first release without the WAL-reset bug (backports: 3.44.6, 3.50.7)
BACKPORTS = ((3, 44, 6), (3, 50, 7))

Error = sqlite3.Error
OperationalError = sqlite3.OperationalError
IntegrityError = sqlite3.IntegrityError
Connection = sqlite3.Connection
connect = sqlite3.connect
version = sqlite3.sqlite_version
library = sqlite3.__name__.partition(".")[0]  # pysqlite3, or sqlite3 (the system's)


def has_wal_reset_fix(text: str = version) -> bool:
    v = tuple(int(p) for p in text.split(".")[:3])
    return v >= FIXED or any(v[:2] == b[:2] and v >= b for b in BACKPORTS)


def describe() -> str:
    """`SQLite 3.53.4 (pysqlite3)`, with a warning when it has the WAL-reset bug."""
    text = f"SQLite {version} ({library})"
    if not has_wal_reset_fix():
        text += (
            ": has the WAL-reset bug (fixed in 3.51.3), which can corrupt the database when the agent and a reader "
            "use it at once; install the pysqlite3 wheel (pip install pysqlite3)"
        )
    return text
