"""What a job can be: each tool registers its job kinds here.

A kind is a plain function ``fn(ctx: JobContext) -> dict`` (the outputs)
registered with :func:`job_kind` in a module of ``jobs/tools/``. It imports
its pipeline inside the body, so the web app can import this registry without
loading torch.
"""

from __future__ import annotations

import gc
import importlib
import os
import pkgutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.settings import get_settings
from pipelines.child_env import JOB_CHILD_KEEP, clean_env, guarded_argv
from pipelines.errors import BadInput
from pipelines.progress import JobProgress

if TYPE_CHECKING:
    from jobs.store import Job

LANES = ("gpu", "cpu")


@dataclass(frozen=True)
class JobKind:
    name: str
    lane: str
    title: str
    fn: Callable[[JobContext], dict[str, Any] | None]
    max_attempts: int | None = None
    public: bool = False  # may be submitted with any params through POST /api/v1/jobs
    # checks the job again before a retry (e.g. the record it is bound to is still it)
    check: Callable[[Job], object] | None = None
    # what happens to the tool's record when a job of this kind ends:
    # on_end(job, status) with the final record, status succeeded/failed/cancelled
    on_end: Callable[[Job, str], object] | None = None
    # GPUs of one machine a job of this kind needs at once (GPU lane): a number,
    # or a function of the job's params (a kind whose option picks the count)
    gpus: int | Callable[[dict[str, Any]], int] = 1

    def gpus_for(self, params: dict[str, Any]) -> int:
        """The GPUs a job of this kind with ``params`` needs (at least 1)."""
        return max(1, int(self.gpus(params) if callable(self.gpus) else self.gpus))


class UnknownKind(BadInput):
    def __init__(self, name: str):
        known = ", ".join(sorted(KINDS)) or "none"
        super().__init__(f"Unknown job kind {name!r}. Known kinds: {known}.")


KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str,
    *,
    lane: str = "cpu",
    title: str | None = None,
    max_attempts: int | None = None,
    public: bool = False,
    check: Callable[[Job], object] | None = None,
    on_end: Callable[[Job, str], object] | None = None,
    gpus: int | Callable[[dict[str, Any]], int] = 1,
):
    """Register a job kind. ``public=True`` lets any user submit it with any
    params through the generic ``POST /api/v1/jobs``; other kinds are submitted
    by their tool's own routes, which check their inputs (server paths, owners).
    ``check(job)`` raises when a retry must be refused (the body runs the same
    check when the job runs, e.g. :func:`jobs.datasets.still_bound`).

    ``on_end(job, status)`` is what happens to the tool's record when a job of
    this kind ends (``succeeded``, ``failed``, ``cancelled``; a job failed by
    recovery after its worker died too): called once per end, after the job's
    final write, by the runner, recovery and the cancel of a queued job
    (:func:`jobs.queue.job_ended`). What it raises goes to the job log; the
    job's own end stands.

    ``gpus`` (GPU lane): the GPUs of one machine a job needs at once, or a
    function of its params; such a job runs when that many GPU lanes of one
    machine are idle, and gets their devices as ``ctx.gpus`` (``jobs.lanes``)."""
    if lane not in LANES:
        raise ValueError(f"lane must be one of {LANES}")

    def register(fn):
        KINDS[name] = JobKind(
            name=name,
            lane=lane,
            title=title or name,
            fn=fn,
            max_attempts=max_attempts,
            public=public,
            check=check,
            on_end=on_end,
            gpus=gpus,
        )
        return fn

    return register


def load_tools() -> dict[str, JobKind]:
    """Import every module of ``jobs/tools`` so their kinds register."""
    import jobs.tools as tools

    for module in pkgutil.iter_modules(tools.__path__):
        importlib.import_module(f"jobs.tools.{module.name}")
    return KINDS


def get_kind(name: str) -> JobKind:
    if name not in KINDS:
        load_tools()  # every tool, even when some registered already (imported directly)
    if name not in KINDS:
        raise UnknownKind(name)
    return KINDS[name]


# -- what a running job sees ---------------------------------------------

_models: OrderedDict[str, Any] = OrderedDict()  # least recently used first
_models_lock = threading.Lock()


def cached_model(key: str, loader: Callable[[], Any]) -> Any:
    """A model loaded once per worker process and kept for the next jobs. At most
    ``STUDIO_MODELS_KEPT`` stay loaded: loading one more first lets go of the least
    recently used (a job still holding it keeps it until the job ends), then frees
    the memory it held (Python's garbage, and the CUDA cache when torch has a GPU)."""
    with _models_lock:
        if key in _models:
            _models.move_to_end(key)
            return _models[key]
        kept = max(get_settings().models_kept, 1)
        while len(_models) >= kept:
            _let_go(_models.popitem(last=False)[1])
        _models[key] = loader()
        return _models[key]


def _let_go(model: Any) -> None:
    """Drop the cache's reference to ``model`` and free what it held: at once when
    nothing else refers to it; through a garbage collection when reference cycles keep
    it alive (a full collection costs a second on a big worker, so only then); then the
    CUDA allocator's cache, when torch has a GPU."""
    try:
        alive = weakref.ref(model)
    except TypeError:  # no weak references to this type: collect to be sure
        alive = None
    del model
    if alive is None or alive() is not None:
        gc.collect()
    torch = sys.modules.get("torch")  # only when a job has imported it
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def loaded_models() -> list[str]:
    """Keys of the loaded models, least recently used first."""
    with _models_lock:
        return list(_models)


@dataclass
class JobContext:
    job: Job
    progress: JobProgress  # jobs.reporter.Reporter
    children: set[subprocess.Popen] = field(default_factory=set)
    samples_itself: bool = False  # the job records its own resource samples (scenario runs)
    gpus: list[str | None] = field(default_factory=list)  # the GPU devices leased to it
    _made: set[str] = field(default_factory=set, repr=False)  # inputs/outputs made so far

    @property
    def id(self) -> str:
        return self.job["id"]

    @property
    def params(self) -> dict[str, Any]:
        return self.job["params"]

    @property
    def owner(self) -> str:
        return self.job["owner"]

    @property
    def dir(self) -> Path:
        from jobs.store import job_dir

        return job_dir(self.id)

    @property
    def inputs(self) -> Path:
        """The job's input files (made on first use: a job without any pays no mkdir)."""
        return self._folder("inputs")

    @property
    def outputs(self) -> Path:
        """Where the job writes its results (made on first use)."""
        return self._folder("outputs")

    def _folder(self, name: str) -> Path:
        folder = self.dir / name
        if name not in self._made:
            folder.mkdir(exist_ok=True)
            self._made.add(name)
        return folder

    def log(self, line: str) -> None:
        self.progress.log(line)

    @property
    def devices(self) -> list[str]:
        """The GPU ids leased to the job on a pinned lane (empty on an unpinned lane, which
        sees every GPU of its machine, and outside a GPU lane)."""
        return [d for d in self.gpus if d is not None]

    def cuda_device(self, named: str | None = None) -> str:
        """The CUDA device a model loaded in this (the lane's) process uses: ``cuda:0`` on a
        pinned lane (its process sees only its own GPU, the job's first); on an unpinned
        lane the first of the ``named`` device ids (``"1,2"`` → ``cuda:1``), else ``cuda:0``.
        Several leased GPUs reach only a child process (:meth:`run_child`)."""
        first = (named or "").split(",")[0].strip()
        return "cuda:0" if self.devices or not first.isdigit() else f"cuda:{first}"

    def gpu_env(self) -> dict[str, str]:
        """``CUDA_VISIBLE_DEVICES`` for a child process: the job's leased GPUs
        (none for a job of an unpinned lane: the child sees what the lane sees)."""
        return {"CUDA_VISIBLE_DEVICES": ",".join(self.devices)} if self.devices else {}

    def model(self, key: str, loader: Callable[[], Any]) -> Any:
        return cached_model(key, loader)

    def run_child(
        self,
        argv: list[str],
        *,
        cwd: str | Path | None = None,
        env: dict[str, str] | None = None,
        poll_s: float = 0.2,
        on_output: Callable[[str, str], None] | None = None,
    ) -> int:
        """Run a program as a child process; its output goes to the job log,
        ``child.stdout.txt`` and ``child.stderr.txt``. Its environment is a clean one
        (:func:`pipelines.child_env.clean_env`: PATH, locale, home, GPUs, model caches and
        ``env``; never a studio setting, a token or a key), with ``CUDA_VISIBLE_DEVICES``
        naming the job's leased GPUs (``ctx.gpus``: all of them for a multi-GPU job; they
        win over devices named in ``env``, so a job never runs on another lane's GPU).
        Cancel kills its whole process group at the next poll. Returns the exit code.

        ``on_output(stream, text)``, when given, receives the child's new output
        (``"stdout"`` / ``"stderr"``) at each poll and once after it exits; it may
        raise ``Cancelled`` (the child is then killed)."""
        out = open(self.dir / "child.stdout.txt", "ab")
        err = open(self.dir / "child.stderr.txt", "ab")
        tail = _OutputTail({"stdout": out, "stderr": err}) if on_output else None
        self.log(f"$ {' '.join(map(str, argv))}")
        child_env = clean_env(keep=JOB_CHILD_KEEP, extra={**(env or {}), **self.gpu_env()})
        proc = subprocess.Popen(
            guarded_argv(list(map(str, argv)), env=child_env),  # dies with this lane
            cwd=cwd,
            env=child_env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        self.children.add(proc)
        try:
            while proc.poll() is None:
                try:
                    if tail is not None and on_output is not None:
                        tail.feed(on_output)
                    self.progress.update()  # raises Cancelled when asked
                except BaseException:
                    kill_tree(proc)
                    raise
                time.sleep(poll_s)
            if tail is not None and on_output is not None:
                tail.feed(on_output)
        finally:
            self.children.discard(proc)
            out.close()
            err.close()
            if tail is not None:
                tail.close()
        self.log(f"child exited with code {proc.returncode}")
        if proc.returncode != 0:
            self.progress.raise_if_cancelled()  # killed because the user cancelled
        return proc.returncode


class _OutputTail:
    """Reads what a child appended to its output files since the last call."""

    def __init__(self, files: dict[str, Any]):
        import codecs

        self._readers = {name: open(fh.name, "rb") for name, fh in files.items()}
        for name, fh in files.items():
            self._readers[name].seek(fh.tell())
        self._decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in files}

    def feed(self, on_output: Callable[[str, str], None]) -> None:
        for name, reader in self._readers.items():
            text = self._decoders[name].decode(reader.read())
            if text:
                on_output(name, text)

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()


def kill_tree(proc: subprocess.Popen) -> None:
    """Kill a child started with its own session, and everything it started."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
