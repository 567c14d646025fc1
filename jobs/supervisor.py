"""Keeping a child process alive: the app's worker (``python -m jobs.worker``)
and, inside the worker, each lane.

:class:`Supervisor` starts the child, waits for it to exit and starts it again
after a pause that doubles with every crash at start (``backoff_s``, 2×, 4×,
… up to ``max_backoff_s``). A crash counts as "at start" when the child dies
within ``start_window_s`` of starting and before it printed its
``ready_marker`` (the worker's lanes print "lane gpu up as …"); after a good
start the next crash restarts it at once. After ``give_up_after`` crashes in a row at start it stops trying and
says so loudly (the log, :meth:`state`, the health endpoint, the Jobs tab): a
worker that cannot start is a broken install, not something to retry forever.

Every restart is logged with the exit code and the last lines the child
printed. The child gets SIGKILL when its supervising thread dies
(``PR_SET_PDEATHSIG`` on Linux), so a killed app leaves no worker behind.

A child is a program (``argv``, started with ``subprocess.Popen``) or a function
run in a fork of this process (``spawn=lambda: fork_child(fn, env)``): the
worker forks its lanes from a process that has imported what they need once.
Forking is only safe before any thread starts in the forking process, so such
children are kept by :func:`keep_alive` in the calling thread (one loop for all
of them) instead of by :meth:`Supervisor.start`'s thread per child.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Protocol

from pipelines.child_env import guarded_argv

log = logging.getLogger("studio.supervisor")

STATES = ("starting", "running", "restarting", "gave_up", "stopped")


def _load_prctl() -> Callable[..., int] | None:
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None


_PRCTL = _load_prctl()  # resolved in the parent: a forked child only calls it


def die_with_parent() -> None:
    """In a forked child (:func:`fork_child`): get SIGKILL when the thread that
    started it dies (Linux ``PR_SET_PDEATHSIG``), so no orphan outlives its
    supervisor. (A program gets the same from :func:`guarded_argv`.)"""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Child(Protocol):
    """What a :class:`Supervisor` uses of its child: ``subprocess.Popen``'s own
    names, so a forked child (:class:`Forked`) and a program are kept alike."""

    pid: int

    @property
    def stdout(self) -> IO[bytes] | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...

    def kill(self) -> None: ...


class Forked:
    """A child made by :func:`fork_child`: its exit code as ``Popen`` gives it
    (``-N`` when killed by signal N)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    @property
    def stdout(self) -> None:
        """None: it writes to this process's stdout and stderr."""
        return None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: its code is lost
                self.returncode = -signal.SIGKILL
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
            time.sleep(0.02)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def fork_child(target: Callable[[], object], env: Mapping[str, str], name: str = "") -> Forked:
    """Run ``target()`` in a fork of this process, with ``env`` as its whole
    environment (set before ``target`` runs, so e.g. ``CUDA_VISIBLE_DEVICES``
    is in place before anything touches CUDA), default SIGINT/SIGTERM handling,
    SIGKILL when this process dies, and ``name`` as its process name (``ps -o
    comm``). The child exits with what ``target`` returns (an int, else 0), 1 when
    it raises (the traceback goes to stderr). Only from a process without
    threads: a fork copies locks that other threads may hold."""
    if threading.active_count() > 1:
        raise RuntimeError("fork_child: this process runs threads; forking it is not safe")
    parent = os.getpid()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid:
        return Forked(pid)
    code = 1
    try:
        die_with_parent()
        if os.getppid() != parent:  # the parent died before the line above
            os._exit(1)
        if name and _PRCTL is not None:
            _PRCTL(15, name.encode()[:15])  # PR_SET_NAME
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(env)
        result = target()
        code = result if isinstance(result, int) else 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            logging.shutdown()
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
        finally:
            os._exit(code)


@dataclass
class SupervisorState:
    """What the supervisor is doing, for the health endpoint and the Jobs tab."""

    name: str
    state: str = "starting"
    pid: int | None = None
    started_at: float | None = None
    restarts: int = 0
    crashes_at_start: int = 0
    last_exit_code: int | None = None
    last_exit_at: float | None = None
    next_start_at: float | None = None
    message: str = ""
    output_tail: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Supervisor:
    """Run ``argv`` as a child process and restart it when it exits.

    ``start()`` runs the loop in a daemon thread; ``stop()`` ends the child
    (SIGTERM, then SIGKILL after ``stop_timeout_s``) and the loop. With
    ``give_up_after=None`` it never gives up (backoff only). ``own_group=True``
    starts the child in its own process group, so a Ctrl-C in the terminal
    reaches only the supervising program, which then stops the child itself
    (no restart races the shutdown). ``spawn``, when given, starts the child
    instead of ``argv`` (``argv`` then only names it in messages): e.g. a
    :func:`fork_child`, kept by :func:`keep_alive`."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        start_window_s: float = 10.0,
        give_up_after: int | None = 5,
        stop_signal: int = signal.SIGTERM,
        stop_timeout_s: float = 15.0,
        capture_output: bool = True,
        ready_marker: str | None = None,
        own_group: bool = False,
        echo: IO[str] | None = None,
        on_change: Callable[[SupervisorState], None] | None = None,
        spawn: Callable[[], Child] | None = None,
    ):
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.start_window_s = start_window_s
        self.give_up_after = give_up_after
        self.stop_signal = stop_signal
        self.stop_timeout_s = stop_timeout_s
        self.capture_output = capture_output
        self.ready_marker = ready_marker
        self.own_group = own_group
        self._ready = False
        self.echo = echo if echo is not None else sys.stdout
        self.on_change = on_change
        self.spawn = spawn
        self._state = SupervisorState(name=name)
        self._tail: collections.deque[str] = collections.deque(maxlen=20)
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._proc: Child | None = None
        self._thread: threading.Thread | None = None

    # -- what others read ------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self._lock:
            self._state.output_tail = list(self._tail)
            return self._state.to_dict()

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    # -- control ---------------------------------------------------------
    def start(self) -> Supervisor:
        self._thread = threading.Thread(target=self.run, name=f"supervise-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the child and stop restarting it."""
        proc = self._ask_to_stop()
        self._end(proc)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        if self._proc is not proc:  # started while stop() was asking: ended the same way
            self._end(self._proc)
        self._set(state="stopped", pid=None, next_start_at=None, message=f"{self.name} stopped")

    def _end(self, proc: Child | None) -> None:
        """Wait for a child that was asked to stop; SIGKILL after ``stop_timeout_s``."""
        if proc is not None and proc.poll() is None:
            try:
                proc.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def _ask_to_stop(self) -> Child | None:
        """No more starts; the child gets ``stop_signal``. Returns the child."""
        with self._lock:
            asked = self._stopping.is_set()
            self._stopping.set()
            proc = self._proc
        if proc is not None and not asked and proc.poll() is None:
            try:
                proc.send_signal(self.stop_signal)
            except ProcessLookupError:
                pass
        return proc

    def run(self) -> None:
        """The loop: start, wait, decide, pause, start again."""
        pause: float | None = 0.0
        while pause is not None and not self._stopping.is_set():
            if pause:
                self._set(state="restarting", next_start_at=time.time() + pause)
                if self._stopping.wait(pause):
                    break
            started = time.monotonic()
            proc, failed = self._start()
            if proc is None and not failed:  # stop() came first
                break
            code = proc.wait() if proc is not None else None
            if self._stopping.is_set():
                break
            pause = self._after_exit(code, time.monotonic() - started)

    # -- inside the loop ---------------------------------------------------
    def _start(self) -> tuple[Child | None, bool]:
        """Start the child: (the child, False); (None, False) when stop() came
        first; (None, True) when it could not be started (a crash at start)."""
        try:
            return self._spawn(), False
        except OSError as exc:  # the program itself cannot start
            self._tail.append(f"could not start: {exc}")
            return None, True

    def _spawn(self) -> Child | None:
        out = subprocess.PIPE if self.capture_output else None
        with self._lock:
            if self._stopping.is_set():
                return None
            self._ready = False
        # Started outside the lock, so stop() never waits on a start; a program
        # through guarded_argv (no preexec_fn: Python code between fork and exec
        # in a process with threads can hang on a lock another thread held).
        proc: Child
        if self.spawn is not None:
            proc = self.spawn()
        else:
            proc = subprocess.Popen(
                guarded_argv(self.argv, env=self.env),
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT if self.capture_output else None,
                process_group=0 if self.own_group else None,
            )
        with self._lock:
            self._proc = proc
            late = self._stopping.is_set()  # stop() came during the start: it missed this child
        if late:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(self.stop_signal)
        if proc.stdout is not None:
            threading.Thread(
                target=self._forward, args=(proc.stdout,), name=f"{self.name}-output", daemon=True
            ).start()
        self._set(
            state="running",
            pid=proc.pid,
            started_at=time.time(),
            next_start_at=None,
            message=f"{self.name} running (pid {proc.pid})",
        )
        return proc

    def _forward(self, stream: IO[bytes]) -> None:
        """Echo the child's output (the terminal keeps showing the worker's log)
        and keep its last lines for the crash report."""
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._tail.append(line)
            if self.ready_marker and self.ready_marker in line:
                self._ready = True
            try:
                self.echo.write(line + "\n")
                self.echo.flush()
            except (OSError, ValueError):  # the terminal went away: keep supervising
                pass
        stream.close()

    def _after_exit(self, code: int | None, lived: float) -> float | None:
        """Record the exit; return the pause before the next start, or None to give up."""
        time.sleep(0.05)  # let the output thread catch the last lines
        at_start = lived < self.start_window_s and not self._ready
        with self._lock:
            st = self._state
            st.last_exit_code, st.last_exit_at, st.pid = code, time.time(), None
            st.crashes_at_start = st.crashes_at_start + 1 if at_start else 0
            crashes = st.crashes_at_start
        tail = "\n".join(f"    {line}" for line in list(self._tail)[-10:])
        how = _describe_exit(code)
        if self.give_up_after is not None and crashes >= self.give_up_after:
            message = (
                f"{self.name} {how} {crashes} times in a row within {self.start_window_s:.0f} s of "
                f"starting; no more restarts. Fix the cause (its last output is in the app's log) "
                f"and restart the studio."
            )
            log.error("%s\n%s", message, tail)
            self._set(state="gave_up", next_start_at=None, message=message)
            return None
        # A child that had been running fine restarts at once; crashes at start back off.
        pause = min(self.max_backoff_s, self.backoff_s * 2 ** (crashes - 1)) if at_start else 0.0
        message = f"{self.name} {how} after {lived:.1f} s; restarting" + (
            f" in {pause:.1f} s" if pause else ""
        )
        log.warning("%s\n%s", message, tail)
        with self._lock:
            self._state.restarts += 1
        self._set(message=message)
        return pause

    def _set(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._state, key, value)
            snapshot = SupervisorState(**{**asdict(self._state), "output_tail": list(self._tail)})
        if self.on_change is not None:
            self.on_change(snapshot)


def keep_alive(keepers: list[Supervisor], stopping: threading.Event, poll_s: float = 0.1) -> None:
    """Keep each supervisor's child alive from this thread until ``stopping`` is
    set, then stop them all together: the loop of :meth:`Supervisor.run`, for
    children forked from this thread (:func:`fork_child`), so no thread ever
    runs in the forking process. A child's exit is seen within ``poll_s``."""
    running: dict[Supervisor, tuple[Child, float]] = {}  # keeper: (its child, started)
    due = {keeper: 0.0 for keeper in keepers}  # keeper: when it starts (again)

    def ended(keeper: Supervisor, code: int | None, lived: float) -> None:
        pause = keeper._after_exit(code, lived)
        if pause is None:  # gave up
            return
        if pause:
            keeper._set(state="restarting", next_start_at=time.time() + pause)
        due[keeper] = time.monotonic() + pause

    while not stopping.is_set():
        for keeper, when in list(due.items()):
            if when <= time.monotonic():
                del due[keeper]
                proc, failed = keeper._start()
                if proc is not None:
                    running[keeper] = (proc, time.monotonic())
                elif failed:
                    ended(keeper, None, 0.0)
        for keeper, (proc, started) in list(running.items()):
            code = proc.poll()
            if code is not None:
                del running[keeper]
                ended(keeper, code, time.monotonic() - started)
        stopping.wait(max(0.0, min([poll_s, *(when - time.monotonic() for when in due.values())])))
    for keeper in keepers:  # all at once: each ends its running step meanwhile
        keeper._ask_to_stop()
    for keeper in keepers:
        keeper.stop()


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "could not be started"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


# -- the app's worker child ---------------------------------------------------

_worker: Supervisor | None = None
READY_MARKER = " up as "  # jobs.worker: "lane gpu up as host:pid:gpu; ..."


def start_worker_child(**options: Any) -> Supervisor:
    """Start ``python -m jobs.worker`` under a supervisor (``python app.py``)."""
    global _worker
    from jobs.settings import get_settings

    settings = get_settings()
    defaults: dict[str, Any] = {
        "backoff_s": 0.5,
        "max_backoff_s": 30.0,
        "start_window_s": 10.0,
        "give_up_after": settings.worker_give_up_after,
    }
    _worker = Supervisor(
        "worker",
        [sys.executable, "-m", "jobs.worker"],
        env=dict(os.environ),
        ready_marker=READY_MARKER,
        own_group=True,
        **{**defaults, **options},
    ).start()
    return _worker


def stop_worker_child() -> None:
    if _worker is not None:
        _worker.stop()


def worker_child_state() -> dict[str, Any] | None:
    """The app's worker supervisor, or None when the worker is run externally
    (STUDIO_WORKER=external) or this process did not start one."""
    return _worker.state() if _worker is not None else None
