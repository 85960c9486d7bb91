"""A private PostgreSQL cluster on a free port, for tests that stop and restart the database.

Like `redis_server.RedisServer`: `initdb` into a temporary folder, `pg_ctl start` on a free
port (its socket in that folder too), and `stop(mode)` / `start()` on the same port, so clients
that keep the URL reconnect once it is back. initdb and postgres refuse to run as root: as root,
the cluster runs as the `postgres` OS user, in a folder it owns.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import create_engine, text

from bench.standins.server import free_port

StopMode = Literal["smart", "fast", "immediate"]
# A PostgreSQL crash, not a machine crash, is what the tests cause: the WAL reaches the kernel
# before a commit returns, so skipping fsync loses nothing here and saves the disk's time.
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "max_connections": "200",
    "log_min_messages": "warning",
}
RUN_AS = "postgres"


class PostgresUnavailable(RuntimeError):
    """This machine cannot run a cluster of the test's own: no binaries, or no user for them."""


def find_bin_dir() -> Path:
    """`PG_BIN` if set, else the folder of `pg_ctl` on PATH, else the newest Debian layout."""
    candidates = []
    if os.environ.get("PG_BIN"):
        candidates.append(Path(os.environ["PG_BIN"]))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = [p for p in debian.iterdir() if p.name.isdigit()]
        candidates += [p / "bin" for p in sorted(versions, key=lambda p: -int(p.name))]
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise PostgresUnavailable(
        "initdb, pg_ctl and postgres were not found (apt-get install postgresql, or set PG_BIN)"
    )


def _owner() -> pwd.struct_passwd | None:
    """The user to run the cluster as: ourselves, unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(RUN_AS)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, and there is no {RUN_AS!r} user to run PostgreSQL as"
        ) from None


class PostgresServer:
    """Owns one cluster; `stop(mode)` then `start()` brings it back on the same port."""

    def __init__(self) -> None:
        self.bin = find_bin_dir()
        self._user = _owner()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="expense-bot-pg-"))
        if self._user is not None:
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"
        self.running = False

    def _run(self, tool: str, *args: str) -> None:
        as_user: dict[str, Any] = {}
        if self._user is not None:
            as_user = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        done = subprocess.run(
            [str(self.bin / tool), *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **as_user,
        )
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{done.stderr}\n{log}")

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        """Start and wait until it accepts connections (after crash recovery, if any)."""
        options = " ".join(
            [f"-p {self.port}", f"-k {self.root}", *(f"-c {k}={v}" for k, v in SETTINGS.items())]
        )
        self._run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-o", options)
        self.running = True

    def stop(self, mode: StopMode = "fast") -> None:
        """`pg_ctl stop -m mode`: fast rolls back and disconnects; immediate is a crash."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w")
        self.running = False

    def database_url(self, name: str) -> str:
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def create_database(self, name: str) -> str:
        admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.database_url(name)

    def __enter__(self) -> "PostgresServer":
        try:
            self.init()
            self.start()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            if self.running:
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
