"""A throwaway PostgreSQL 15 cluster for the tests: Debian's server, started with initdb and
pg_ctl on a free loopback port, owned by the ``postgres`` user when the tests run as root."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"PostgreSQL's {name} is missing; install the server: sudo apt-get install postgresql"
        )
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """One cluster in a temporary folder; ``url(db)`` gives a connection URL."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pilotline-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            _bin("initdb"), "-D", str(self.data), "-U", "pilotline", "--auth=trust", "-E", "UTF8"
        )
        self.start()

    def _run(self, *args: str) -> None:
        cmd = ["runuser", "-u", "postgres", "--", *args] if self._as_root else list(args)
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.dir)

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        self._run(
            _bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, down_s: float = 1.0) -> None:
        """Crash the server (immediate stop), keep it down ``down_s`` seconds, start it again."""
        self.stop("immediate")
        time.sleep(down_s)
        self.start()

    def create_db(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, db: str) -> str:
        return f"postgresql://pilotline@127.0.0.1:{self.port}/{db}"

    def close(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
