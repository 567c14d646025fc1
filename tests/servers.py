"""Real servers for the tests: PostgreSQL 15 and Redis, started once per test
session (once per xdist worker) on 127.0.0.1 and a free port, in a temp folder,
and stopped at its end.

- ``postgres_url``: a fresh, empty database for the test (``postgresql://``);
- ``redis_url``: the session's Redis, emptied for the test;
- ``database_url``: parametrised over ``sqlite`` and ``postgres``: the test's
  records (``STUDIO_DATABASE_URL``) in the studio_home's ``studio.db`` or in a
  fresh PostgreSQL database, migrated to the head either way (a copy of a
  database migrated once per session). Its ``postgres`` runs are in the xdist
  group ``postgres`` (``-n 3 --dist loadgroup``: one PostgreSQL serves them all).

PostgreSQL is Debian's ``postgresql-15`` (``/usr/lib/postgresql/15/bin``; as
root its ``initdb`` and ``postgres`` run as the ``postgres`` user), with fsync
off: a test database is thrown away. ``.ci/run`` installs both servers.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("STUDIO_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS = shutil.which("redis-server")
POSTGRES = pytest.param("postgres", marks=pytest.mark.xdist_group("postgres"))
INITDB = ("--locale=C", "--no-sync", "--no-instructions")
TEMPLATE = "studio_template"  # migrated once per session; each test's database is a copy


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(ready, what: str, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited at start:\n{log.read_text(errors='replace')}")
        try:
            ready()
            return
        except Exception:  # not up yet
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{what} did not answer in {timeout} s:\n{log.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- PostgreSQL -----------------------------------------------------------------------


@dataclass
class PostgresServer:
    """One running PostgreSQL (trust login as ``postgres`` on 127.0.0.1); ``log``: its
    log file (statements too, for a database with ``log_statement = 'all'``)."""

    port: int
    log: Path | None = None
    _restart: Callable[[], None] | None = None
    _names = itertools.count()

    def restart(self) -> None:
        """Stop the server (fast shutdown: every connection is closed) and start it
        again on the same port and data; returns once it answers."""
        assert self._restart is not None, "only a server started by running_postgres"
        self._restart()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, *statements: str) -> None:
        """Run statements outside a transaction (CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]

    def new_database(self, template: str = "template0") -> str:
        name = f"test_{os.getpid()}_{next(self._names)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def drop(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def running_postgres(durable: bool = False) -> Iterator[PostgresServer]:
    """A PostgreSQL 15 while the block runs: initdb in a temp folder, 127.0.0.1,
    a free port (also used by ``benchmarks/jobs.py --database postgres``, with
    ``durable``: fsync and synchronous commits on, as a real server has them)."""
    as_root = os.geteuid() == 0
    folder = Path(tempfile.mkdtemp(prefix="studio-pg-"))
    data, log = folder / "data", folder / "postgres.log"
    data.mkdir()
    if as_root:  # PostgreSQL refuses to run as root: its folder belongs to `postgres`
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(data, "postgres", "postgres")
    user = "postgres" if as_root else None
    subprocess.run(
        [PG_BIN / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", *INITDB],
        user=user,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": port,
        "unix_socket_directories": "",  # TCP only
        # A test database is thrown away: no waiting on the disk.
        "fsync": "on" if durable else "off",
        "synchronous_commit": "on" if durable else "off",
        "full_page_writes": "on" if durable else "off",
        "max_connections": 300,  # an app, workers with pools, tests' own processes
        "shared_buffers": "32MB",
    }
    argv = [PG_BIN / "postgres", "-D", data]
    for key, value in settings.items():
        argv += ["-c", f"{key}={value}"]
    procs: list[subprocess.Popen] = []

    def start() -> None:
        with open(log, "ab") as out:
            procs.append(subprocess.Popen(argv, user=user, stdout=out, stderr=subprocess.STDOUT))
        _wait(lambda: server.admin("SELECT 1"), "postgres", procs[-1], log)

    def restart() -> None:
        _stop(procs[-1], 2)  # SIGINT: fast shutdown
        start()

    server = PostgresServer(port, log, restart)
    try:
        start()
        yield server
    finally:
        if procs:
            _stop(procs[-1], 2)  # SIGINT: fast shutdown
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """PostgreSQL 15 for the session (one per xdist worker)."""
    if not (PG_BIN / "postgres").exists():
        pytest.fail(
            f"PostgreSQL 15 is missing ({PG_BIN}/postgres): apt-get install -y postgresql-15 "
            "(.ci/run installs it)"
        )
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def _postgres_template(postgres_server: PostgresServer, tmp_path_factory) -> str:
    """A database migrated to the head once per session (the template of each test's)."""
    from jobs import records
    from jobs.settings import reset_settings

    postgres_server.admin(f'CREATE DATABASE "{TEMPLATE}" TEMPLATE template0')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STUDIO_HOME", str(tmp_path_factory.mktemp("pg-template")))
        patch.setenv("STUDIO_DATABASE_URL", postgres_server.url(TEMPLATE))
        reset_settings()
        records.upgrade()
        records.dispose()  # a template takes no connections while it is copied
    reset_settings()
    return TEMPLATE


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test (dropped after it)."""
    name = postgres_server.new_database()
    yield postgres_server.url(name)
    _drop(postgres_server, name)


def _drop(server: PostgresServer, name: str) -> None:
    from jobs import records

    records.dispose()
    server.drop(name)


@pytest.fixture(params=["sqlite", POSTGRES])
def database_url(request, studio_home, monkeypatch) -> Iterator[str]:
    """The test's records on each database: SQLite (``studio_home``'s
    ``studio.db``) or a fresh PostgreSQL database, migrated to the head and
    set as ``STUDIO_DATABASE_URL`` (processes the test starts inherit it)."""
    from jobs import records
    from jobs.settings import get_settings, reset_settings

    if request.param == "sqlite":
        yield get_settings().records_url
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.new_database(template=request.getfixturevalue("_postgres_template"))
    url = server.url(name)
    records.dispose()
    monkeypatch.setenv("STUDIO_DATABASE_URL", url)
    reset_settings()
    yield url
    _drop(server, name)


# -- Redis ----------------------------------------------------------------------------


@contextmanager
def running_redis() -> Iterator[str]:
    """A redis-server while the block runs (127.0.0.1, a free port, nothing saved
    to disk); yields its URL."""
    import redis

    assert REDIS is not None

    folder = Path(tempfile.mkdtemp(prefix="studio-redis-"))
    port = _free_port()
    log = folder / "redis.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait(lambda: redis.Redis.from_url(url).ping(), "redis-server", proc, log)
        yield url
    finally:
        _stop(proc, 15)
        shutil.rmtree(folder, ignore_errors=True)


def flush_redis(url: str) -> None:
    """Empty the Redis at ``url`` (every queue on it)."""
    import redis

    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """redis-server for the session (one per xdist worker)."""
    if REDIS is None:
        pytest.fail(
            "redis-server is not installed (apt-get install -y redis-server; .ci/run installs it)"
        )
    with running_redis() as url:
        yield url


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis, emptied for this test."""
    flush_redis(redis_server)
    return redis_server
