"""A private PostgreSQL cluster for the tests, and fresh databases inside it.

Standard library only for the cluster itself, so ``.ci/run`` can start one with the system
Python before the virtualenv exists::

    python3 tests/pg.py start DIR     # prints postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
    python3 tests/pg.py stop DIR

The cluster listens on 127.0.0.1 only, on a free port, with trust authentication and
``fsync=off`` (test data is thrown away). ``initdb`` refuses to run as root, so as root the
binaries run as the ``postgres`` user through ``runuser``.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ENV_URL = "RECTIFY_TEST_PG_URL"
SUPERUSER = "postgres"


class PgUnavailable(RuntimeError):
    """No PostgreSQL server was configured and none can be started here."""


def bin_dir() -> Path | None:
    """The newest Debian PostgreSQL binaries (/usr/lib/postgresql/N/bin), or those on PATH."""
    candidates = []
    for path in glob.glob("/usr/lib/postgresql/*/bin"):
        try:
            major = int(Path(path).parent.name.split(".")[0])
        except ValueError:
            continue
        if (Path(path) / "initdb").exists() and (Path(path) / "pg_ctl").exists():
            candidates.append((major, Path(path)))
    if candidates:
        return max(candidates)[1]
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def psycopg_url(url: str) -> str:
    """Normalise ``postgres://`` / ``postgresql://`` to the SQLAlchemy psycopg 3 form."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError(f"not a PostgreSQL URL: {url}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PgUnavailable("running as root but there is no 'postgres' user to run initdb as") from None
    return ["runuser", "-u", "postgres", "--", *cmd]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise PgUnavailable(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


class Cluster:
    """One throwaway cluster in ``root`` (created if missing)."""

    def __init__(self, root: str | Path | None = None, port: int | None = None):
        self.bin = bin_dir()
        if self.bin is None:
            raise PgUnavailable("no PostgreSQL binaries (install the Debian 'postgresql' package)")
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="rectify-pg-"))
        self.data = self.root / "data"
        self.port = port or free_port()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def _chown(self) -> None:
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chmod(self.root, 0o700)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)

    def start(self, attempts: int = 3) -> str:
        """initdb and start; return the superuser URL."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._chown()
        if not (self.data / "PG_VERSION").exists():
            _run(_as_postgres([str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "-A", "trust",
                               "-E", "UTF8", "--locale=C", "--no-sync"]))
        last = None
        for _ in range(attempts):
            opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root} "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            try:
                _run(_as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                                   "-w", "-t", "60", "-o", opts, "start"]))
                self._write_port()
                return self.url
            except PgUnavailable as e:  # most likely the port was taken meanwhile
                last = e
                self.port = free_port()
        log = (self.root / "log").read_text(errors="replace")[-2000:] if (self.root / "log").exists() else ""
        raise PgUnavailable(f"{last}\n{log}")

    def _write_port(self) -> None:
        (self.root / "port").write_text(str(self.port))

    def stop(self, remove: bool = True) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(_as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                                         "-w", "stop"]), capture_output=True)
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    @classmethod
    def existing(cls, root: str | Path) -> Cluster:
        root = Path(root)
        return cls(root, port=int((root / "port").read_text()))


# --- databases inside a server (needs psycopg) ----------------------------------

def _connect(url: str):
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return psycopg.connect(host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username,
                           password=u.password, dbname=u.database or "postgres", autocommit=True,
                           connect_timeout=10)


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with _connect(url) as conn:
                conn.execute("SELECT 1")
            return
        except Exception as e:
            if time.monotonic() > deadline:
                raise PgUnavailable(f"PostgreSQL at {url} is not answering: {e}") from None
            time.sleep(0.2)


def database_url(server_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def create_database(server_url: str, prefix: str = "rectify_t", template: str | None = None) -> str:
    """CREATE a uniquely named database (optionally from a template); return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _connect(server_url) as conn:
        sql = f'CREATE DATABASE "{name}"'
        if template:
            sql += f' TEMPLATE "{template}"'
        conn.execute(sql)
    return database_url(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    with _connect(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: pg.py start|stop DIR", file=sys.stderr)
        return 2
    action, root = argv
    try:
        if action == "start":
            print(Cluster(root).start())
        else:
            Cluster.existing(root).stop(remove=True)
    except PgUnavailable as e:
        print(f"pg.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
