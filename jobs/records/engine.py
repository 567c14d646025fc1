"""One engine per process and URL, and the ways to run statements on it.

SQLite (the embedded default) gets the pragmas of a busy multi-process file
(WAL journal, ``synchronous=normal``, a 60 s busy timeout) on every new
connection, and SQLAlchemy's documented pysqlite recipe for transactions: the
driver's own implicit BEGIN is switched off and the ``begin`` event emits ours.
A :func:`transaction` begins with ``BEGIN IMMEDIATE`` (the write lock first);
a single statement (:func:`first`, :func:`rows` …) runs with no BEGIN, so
SQLite makes it its own transaction, as before (one statement, no extra round
trips on the hot path of the queue). Every write on a SQLite file (a write
statement, a :func:`transaction`) first waits its turn on the file's writers'
lock (:mod:`jobs.records.turns`), so writers queue in the kernel instead of
sleeping in SQLite's busy handler.

PostgreSQL (``STUDIO_DATABASE_URL=postgresql://…``; the driver is psycopg 3,
so a plain ``postgresql://`` or ``postgres://`` URL is read as
``postgresql+psycopg://``) keeps the same contract: a single statement is its
own transaction, and a :func:`transaction` takes the records' one write lock
first (a transaction-level advisory lock, released at its commit or rollback),
as ``BEGIN IMMEDIATE`` does on SQLite. So a transaction that reads and then
writes (the next number of a frame task's order, "insert if the name is
free") sees no concurrent writer between its read and its write on either
database, and a single statement (the claim: ``UPDATE … WHERE status =
'queued' RETURNING``) is atomic on both without it.

PostgreSQL connections are pooled without a ping before each use (a round trip
per statement): a pooled connection the server closed while it sat idle (a
restarted server, a killed backend) has its socket readable (the server's
goodbye, then end of file), so a local, non-blocking poll of the socket at
checkout finds it and the pool connects afresh (:func:`_pg_checkout`, SQLAlchemy's
documented ``DisconnectionError`` in a checkout event). A connection that breaks
while in use is invalidated by SQLAlchemy's disconnect handling, with every
older connection of the pool; ``pool_recycle`` replaces connections older than
30 minutes (idle connections a firewall dropped without a word).

``durable=False`` (progress writes, heartbeats: a write whose loss in a crash of
the database server costs nothing but a stale figure) commits on PostgreSQL
without waiting for the write-ahead log to reach the disk
(``synchronous_commit=off``, its own small pool; the database stays
consistent, such a commit is visible to every reader at once and is on disk
within ``wal_writer_delay``). Job records' state changes (submit, claim, end)
stay durable. On SQLite it changes nothing (WAL with ``synchronous=normal``
does not sync each commit).

A statement run for every job (the claim, the end, a progress write) is built
once and wrapped in :class:`Prepared`. On SQLite it then runs on the thread's
driver connection directly, compiled once per set of parameter names (the SQL
SQLAlchemy compiled, its bound values converted by SQLAlchemy's own type
processors, a driver error raised as SQLAlchemy's): SQLAlchemy's execution
machinery costs ~150 µs of CPU a statement, three times the statement itself
(benchmarks/README.md). On PostgreSQL it runs on a pooled connection's psycopg
connection, in autocommit, compiled once with named parameters (its result
processors picked from the first result's column types): 0.16 ms of CPU a
statement against 0.34 through SQLAlchemy's execution (medians of 7 rounds, the
pool checkout and its socket check included); a driver error is raised as SQLAlchemy's, and a connection
that broke is invalidated, as SQLAlchemy's disconnect handling does. psycopg
prepares a statement used often.
"""

from __future__ import annotations

import os
import select as io_select
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.sql import Executable

from jobs.settings import get_settings

from .turns import WriterTurns

_BEGIN = "records_begin"  # execution option read by the SQLite begin hook
_WRITE_LOCK = 0x5354_5544_494F_0001  # PostgreSQL: the advisory lock of transaction()
_PG_DRIVER = "postgresql+psycopg"
_PG_SCHEMES = ("postgres://", "postgresql://")  # no driver named: psycopg 3


@dataclass
class _Engines:
    engine: Engine
    writer: Engine  # transaction(): BEGIN IMMEDIATE on SQLite
    single: Engine  # one statement, its own transaction
    url: URL
    turns: WriterTurns | None = None  # SQLite file: its writers' turns (jobs/records/turns.py)
    _relaxed: _Engines | None = None  # PostgreSQL: durable=False (made at first use)

    def relaxed(self) -> _Engines:
        """The engines for ``durable=False`` writes: on PostgreSQL their own pool of
        connections with ``synchronous_commit=off``; on SQLite these same engines."""
        if self.engine.dialect.name != "postgresql":
            return self
        if self._relaxed is None:
            with _lock:
                if self._relaxed is None:
                    self._relaxed = _create_pg(
                        self.url, {"options": "-c synchronous_commit=off"}, pool_size=2
                    )
        return self._relaxed

    def dispose(self, close: bool = True) -> None:
        self.engine.dispose(close=close)
        if self._relaxed is not None:
            self._relaxed.dispose(close=close)


_engines: dict[str, _Engines] = {}
_engines_pid = os.getpid()
_last: tuple[object, _Engines] | None = None  # (the settings it was made for, engines)
_lock = threading.Lock()
_local = threading.local()  # SQLite: this thread's connection for single statements


def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.isolation_level = None  # no implicit BEGIN from the driver
    cursor = dbapi_connection.cursor()
    cursor.execute("pragma journal_mode=wal")
    cursor.execute("pragma synchronous=normal")
    cursor.execute("pragma busy_timeout=60000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    begin = conn.get_execution_options().get(_BEGIN, "BEGIN")
    if begin:
        conn.exec_driver_sql(begin)


def database_url(url: str) -> URL:
    """The SQLAlchemy URL of a records URL: ``postgresql://`` and ``postgres://``
    (seed 004's ``DATABASE_URL``) name the psycopg 3 driver."""
    for scheme in _PG_SCHEMES:
        if url.startswith(scheme):
            url = f"{_PG_DRIVER}://{url[len(scheme) :]}"
    return make_url(url)


def shown_url(url: str) -> str:
    """A records URL fit for a log or a page: its password masked."""
    return database_url(url).render_as_string(hide_password=True)


def _closed_by_server(fd: int) -> bool:
    """Is this idle connection's socket readable? An idle PostgreSQL connection
    is sent nothing (no LISTEN here): data or end of file means the server said
    goodbye (restart, ``pg_terminate_backend``, an idle timeout). No round trip."""
    if hasattr(io_select, "poll"):
        poller = io_select.poll()
        poller.register(fd, io_select.POLLIN | io_select.POLLPRI)
        return bool(poller.poll(0))
    return bool(io_select.select([fd], [], [], 0)[0])  # pragma: no cover (no poll())


def _pg_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A pooled connection the server closed while it was idle: the pool drops it
    and connects afresh (instead of ``pool_pre_ping``'s round trip per checkout)."""
    if dbapi_connection.closed or _closed_by_server(dbapi_connection.fileno()):
        raise DisconnectionError("the database server closed this pooled connection")


def _create_pg(
    parsed: URL, connect_args: dict[str, Any] | None = None, pool_size: int = 8
) -> _Engines:
    eng = create_engine(
        parsed,
        connect_args=connect_args or {},
        pool_size=pool_size,
        max_overflow=32 - pool_size,
        pool_recycle=1800,
    )
    event.listen(eng, "checkout", _pg_checkout)
    # A single statement is its own transaction: autocommit (no BEGIN and
    # COMMIT round trips around it).
    single = eng.execution_options(isolation_level="AUTOCOMMIT")
    return _Engines(engine=eng, writer=eng, single=single, url=parsed)


def _create(url: str) -> _Engines:
    parsed = database_url(url)
    if parsed.get_backend_name() != "sqlite":
        return _create_pg(parsed)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # Threads keep their connection for single statements (web threads included):
    # no ceiling on connections, a SQLite connection is a file handle.
    eng = create_engine(parsed, connect_args={"timeout": 60}, pool_size=8, max_overflow=-1)
    event.listen(eng, "connect", _sqlite_connect)
    event.listen(eng, "begin", _sqlite_begin)
    return _Engines(
        engine=eng,
        writer=eng.execution_options(**{_BEGIN: "BEGIN IMMEDIATE"}),
        single=eng.execution_options(**{_BEGIN: None}),
        url=parsed,
        turns=WriterTurns(parsed.database)
        if parsed.database and parsed.database != ":memory:"
        else None,
    )


def _engines_now() -> _Engines:
    global _engines_pid, _last
    settings = get_settings()  # cached: the same object until reset_settings()
    last = _last
    if last is not None and last[0] is settings and _engines_pid == os.getpid():
        return last[1]
    with _lock:
        if os.getpid() != _engines_pid:  # a forked child: never share the parent's connections
            for inherited in _engines.values():
                inherited.dispose(close=False)
            _engines.clear()
            _engines_pid = os.getpid()
        url = settings.records_url
        if url not in _engines:
            _engines[url] = _create(url)
        _last = (settings, _engines[url])
        return _engines[url]


def engine() -> Engine:
    """This process's engine for the studio's records (``STUDIO_DATABASE_URL``)."""
    return _engines_now().engine


def dispose() -> None:
    """Close this process's connections (tests that swap STUDIO_HOME, benchmarks)."""
    global _last
    _drop_thread_connection()
    with _lock:
        for engines in _engines.values():
            engines.dispose()
        _engines.clear()
        _last = None


def _drop_thread_connection() -> None:
    conn = getattr(_local, "conn", None)
    _local.conn = None
    if conn is not None:
        conn.close()


@contextmanager
def transaction(durable: bool = True) -> Iterator[Connection]:
    """Writes that belong together: committed together when the block ends,
    rolled back together when it raises. On SQLite it takes the write lock at
    its start (``BEGIN IMMEDIATE``). ``durable=False``: see the module's text
    (heartbeats)."""
    engines = _engines_now()
    if not durable:
        engines = engines.relaxed()
    with _turn(engines, writes=True), engines.writer.begin() as conn:
        if engines.engine.dialect.name == "postgresql":
            conn.execute(_TAKE_WRITE_LOCK)
        yield conn


_TAKE_WRITE_LOCK = select(func.pg_advisory_xact_lock(_WRITE_LOCK))


@contextmanager
def connection() -> Iterator[Connection]:
    """A connection for reads that need several statements; each statement
    is its own transaction (no snapshot across them)."""
    with _engines_now().single.connect() as conn:
        yield conn


Params = Mapping[str, Any] | None
Row = Mapping[str, Any]  # a row handed back: SQLAlchemy's RowMapping, or a dict (Prepared)


_REQUIRED = object()  # a bound parameter with no value of its own


@dataclass(frozen=True)
class _Form:
    """A :class:`Prepared` statement compiled for one dialect and one set of
    parameter names: its SQL, how to build its positional values, and its result."""

    sql: str
    args: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]  # name, default, processor
    columns: tuple[str, ...]
    # SQLite: each column's result processor; PostgreSQL: found from the first result's
    # column types (psycopg's type codes, which SQLAlchemy's processors ask for)
    results: list[Callable[[Any], Any] | None]
    named: bool = False  # PostgreSQL (psycopg): values by name, %(name)s in the SQL
    result_types: tuple[Any, ...] = ()  # PostgreSQL: the columns' SQLAlchemy types
    writes: bool = False  # an INSERT, UPDATE or DELETE

    def values(self, params: Params) -> tuple[Any, ...] | None:
        """The values in the order of ``args``; None when one has no value (SQLAlchemy
        says so)."""
        given = params or {}
        out = []
        for name, default, process in self.args:
            value = given.get(name, default)
            if value is _REQUIRED:
                return None
            out.append(process(value) if process is not None and value is not None else value)
        return tuple(out)

    def driver_args(self, values: tuple[Any, ...]) -> tuple[Any, ...] | dict[str, Any]:
        """The values as the driver takes them: positional, or by name."""
        if self.named:
            return {name: value for (name, _, _), value in zip(self.args, values, strict=True)}
        return values

    def row(self, values: Sequence[Any]) -> dict[str, Any]:
        if any(self.results):
            values = [p(v) if p else v for p, v in zip(self.results, values, strict=True)]
        return dict(zip(self.columns, values, strict=True))


class Prepared:
    """A statement built once (a module constant) and run often through
    :func:`first`, :func:`rows`, :func:`scalar` or :func:`execute`: on SQLite
    without SQLAlchemy's per-execution work (see the module's text)."""

    __slots__ = ("_forms", "statement")

    def __init__(self, statement: Executable):
        self.statement = statement
        self._forms: dict[tuple[str, frozenset[str]], _Form | None] = {}

    def form(self, dialect: Any, params: Params) -> _Form | None:
        """The compiled form for ``params``' names; None when this statement needs
        SQLAlchemy's execution (expanding ``IN`` lists, out parameters)."""
        key = (dialect.name, frozenset(params or ()))
        try:
            return self._forms[key]
        except KeyError:
            pass
        try:
            form = self._compile(dialect, key[1])
        except (AttributeError, ImportError, TypeError):
            # It reads compiled-statement internals of SQLAlchemy 2.x: should a release
            # change them, the statement simply runs through SQLAlchemy's execution.
            form = None
        self._forms[key] = form
        return form

    def _compile(self, dialect: Any, names: frozenset[str]) -> _Form | None:
        from sqlalchemy.sql.crud import REQUIRED as _SA_REQUIRED

        compiled: Any = self.statement.compile(  # type: ignore[attr-defined]
            dialect=dialect, column_keys=sorted(names)
        )
        form = None
        named = dialect.paramstyle == "pyformat"  # psycopg: %(name)s
        order = compiled.positiontup
        if named:
            order = list(compiled.construct_params(_check=False))
        if order is not None and not (
            compiled.post_compile_params or compiled.literal_execute_params
        ):
            defaults = compiled.construct_params(_check=False)
            processors = compiled._bind_processors
            binds = {bind.key: bind for bind in compiled.binds.values()}
            required = {
                name
                for name in order
                if defaults.get(name) is _SA_REQUIRED or getattr(binds.get(name), "required", False)
            }
            args = tuple(
                (name, _REQUIRED if name in required else defaults.get(name), processors.get(name))
                for name in order
            )
            result_columns = compiled._result_columns
            form = _Form(
                sql=compiled.string,
                args=args,
                columns=tuple(col[0] for col in result_columns),
                results=[]
                if named
                else [col[3]._cached_result_processor(dialect, None) for col in result_columns],
                named=named,
                result_types=tuple(col[3] for col in result_columns),
                writes=bool(getattr(self.statement, "is_dml", False)),
            )
        return form


def prepared(statement: Executable) -> Prepared:
    """``statement`` (built once, its values bound parameters) made cheap to run
    often: see :class:`Prepared`."""
    return Prepared(statement)


def insert_unique(conn: Connection, statement: Executable, conflict: Exception) -> None:
    """Run an insert in ``conn``'s transaction; ``conflict`` (e.g. a
    :class:`pipelines.errors.Conflict`) is raised instead when it breaks a
    unique constraint or a primary key (the transaction is then rolled back
    by its block). The portable form of "insert if the name is free"."""
    try:
        conn.execute(statement)
    except IntegrityError:
        raise conflict from None


def _single_connection(engines: _Engines) -> Connection:
    """This thread's connection for single statements (SQLite: kept open, as a
    SQLite connection is a file handle and a pool round trip per statement
    would cost more than the statement)."""
    conn: Connection | None = getattr(_local, "conn", None)
    if conn is None or conn.engine is not engines.single or conn.closed or conn.invalidated:
        if conn is not None:
            conn.close()
        conn = _local.conn = engines.single.connect()
    return conn


def _run(
    statement: Executable | Prepared,
    params: Params,
    fetch: Callable[[Any], Any],
    durable: bool = True,
    raw_fetch: Callable[[Any, _Form], Any] | None = None,
) -> Any:
    engines = _engines_now()
    if engines.engine.dialect.name != "sqlite" and not durable:
        engines = engines.relaxed()
    if isinstance(statement, Prepared):
        form = None
        if raw_fetch is not None:
            form = statement.form(engines.engine.dialect, params)
        values = None if form is None else form.values(params)
        if form is not None and values is not None:
            assert raw_fetch is not None
            if engines.engine.dialect.name == "sqlite":
                return _run_form(engines, form, values, raw_fetch)
            return _run_form_pooled(engines, form, values, raw_fetch)
        statement = statement.statement
    if engines.engine.dialect.name != "sqlite":
        with engines.single.connect() as conn:
            result = fetch(conn.execute(statement, params))
            conn.commit()  # the statement's transaction
            return result
    conn = _single_connection(engines)
    with _turn(engines, writes=bool(getattr(statement, "is_dml", False))):
        return _run_single(conn, statement, params, fetch)


def _turn(engines: _Engines, writes: bool) -> AbstractContextManager[None]:
    """A SQLite file's writers' turn for a write (:mod:`jobs.records.turns`); nothing to
    wait for otherwise."""
    if writes and engines.turns is not None:
        return engines.turns.turn()
    return nullcontext()


def _run_single(
    conn: Connection, statement: Executable, params: Params, fetch: Callable[[Any], Any]
) -> Any:
    try:
        cursor = conn.execute(statement, params)
        result = fetch(cursor)
        cursor.close()  # no statement left open (it would hold a read snapshot)
        conn.commit()  # nothing to do on SQLite (no BEGIN): ends SQLAlchemy's bookkeeping
    except BaseException:
        conn.rollback()
        raise
    return result


def _run_form(
    engines: _Engines, form: _Form, values: tuple[Any, ...], fetch: Callable[[Any, _Form], Any]
) -> Any:
    """A :class:`Prepared` statement on SQLite: on the thread's driver connection
    (no BEGIN: the statement is its own transaction, as in :func:`_run`)."""
    conn = _single_connection(engines)
    raw = conn.connection.driver_connection
    assert raw is not None  # a connection checked out of the pool
    dialect = engines.engine.dialect
    try:
        with _turn(engines, form.writes):
            cursor = raw.execute(form.sql, values)
            try:
                return fetch(cursor, form)
            finally:
                cursor.close()  # no statement left open (it would hold a read snapshot)
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            form.sql, values, exc, dialect.loaded_dbapi.Error, dialect=dialect
        ) from exc


def _run_form_pooled(
    engines: _Engines, form: _Form, values: tuple[Any, ...], fetch: Callable[[Any, _Form], Any]
) -> Any:
    """A :class:`Prepared` statement on PostgreSQL: on a pooled connection's driver
    connection (psycopg), in autocommit (one round trip, its own transaction), without
    SQLAlchemy's per-execution work (~0.3 ms of CPU a statement, benchmarks/README.md).
    A connection that broke is invalidated, as SQLAlchemy's own disconnect handling does."""
    dialect = engines.engine.dialect
    pooled = engines.single.raw_connection()  # the checkout event drops a dead idle one
    try:
        raw = pooled.driver_connection
        assert raw is not None
        raw.autocommit = True
        try:
            cursor = raw.execute(form.sql, form.driver_args(values))
            if not form.results and cursor.description and form.result_types:
                form.results[:] = [  # once: the same statement has the same column types
                    kind._cached_result_processor(dialect, column.type_code)
                    for kind, column in zip(form.result_types, cursor.description, strict=True)
                ]
            try:
                return fetch(cursor, form)
            finally:
                cursor.close()
        except dialect.loaded_dbapi.Error as exc:
            invalidated = dialect.is_disconnect(exc, raw, None)
            if invalidated:
                pooled.invalidate(exc)
            raise DBAPIError.instance(
                form.sql,
                values,
                exc,
                dialect.loaded_dbapi.Error,
                dialect=dialect,
                connection_invalidated=invalidated,
            ) from exc
        finally:
            if not raw.closed:
                raw.autocommit = False  # as the pool handed it out
    finally:
        pooled.close()  # back to the pool


def _raw_rows(cursor: Any, form: _Form) -> list[dict[str, Any]]:
    return [form.row(values) for values in cursor.fetchall()]


def _raw_first(cursor: Any, form: _Form) -> dict[str, Any] | None:
    found = cursor.fetchall()  # every row: the statement runs to its end (its commit)
    return form.row(found[0]) if found else None


def _raw_scalar(cursor: Any, form: _Form) -> Any:
    row = _raw_first(cursor, form)
    return None if row is None else next(iter(row.values()))


def _raw_count(cursor: Any, form: _Form) -> int:
    if cursor.description is not None:  # rows handed back: read them (SQLite runs to the end)
        cursor.fetchall()
    return int(cursor.rowcount)


# Each takes a statement and, optionally, the values of its bound parameters: a
# statement built once (a module constant with ``bindparam``) is compiled once.
# ``durable=False``: a write whose loss in a crash of the database server costs
# nothing (progress): on PostgreSQL its commit does not wait for the disk.


Statement = Executable | Prepared


def rows(statement: Statement, params: Params = None, *, durable: bool = True) -> Sequence[Row]:
    """Run one statement (its own transaction); every row it gives back."""
    return _run(statement, params, lambda result: result.mappings().all(), durable, _raw_rows)


def first(statement: Statement, params: Params = None, *, durable: bool = True) -> Row | None:
    """Run one statement (its own transaction, e.g. ``UPDATE … RETURNING``);
    the first row it gives back, or None."""
    return _run(statement, params, lambda result: result.mappings().first(), durable, _raw_first)


def scalar(statement: Statement, params: Params = None, *, durable: bool = True) -> Any:
    """Run one statement; the first column of its first row (None without rows)."""
    return _run(statement, params, lambda result: result.scalar(), durable, _raw_scalar)


def execute(statement: Statement, params: Params = None, *, durable: bool = True) -> int:
    """Run one writing statement (its own transaction); the rows it changed."""
    return _run(statement, params, lambda result: result.rowcount, durable, _raw_count)


@contextmanager
def trace(callback: Callable[[str], None]) -> Iterator[None]:
    """Hand every SQL text the database runs for this process's connections
    to ``callback`` while the block runs (SQLite's own statement trace, so
    BEGIN and COMMIT are seen too; for tests that count statements)."""
    eng = engine()
    if eng.dialect.name != "sqlite":
        raise NotImplementedError("trace() follows SQLite's statement trace only.")

    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        dbapi_connection.set_trace_callback(callback)

    def checkin(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:
            dbapi_connection.set_trace_callback(None)

    _drop_thread_connection()  # the next single statement checks a traced one out
    event.listen(eng, "checkout", checkout)
    event.listen(eng, "checkin", checkin)
    try:
        yield
    finally:
        _drop_thread_connection()
        event.remove(eng, "checkout", checkout)
        event.remove(eng, "checkin", checkin)
