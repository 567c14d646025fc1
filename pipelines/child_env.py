"""The environment of every process the studio starts for a user: scenario scripts, job
children (``JobContext.run_child``: system jobs, SteadyDancer's ``generate_dancer.py``),
ffmpeg conversions.

Such a child gets a clean environment built from a list of names, never a copy of ours:
PATH and the locale, and only the names its caller keeps (its home, the GPUs it may use,
the Hugging Face cache it reads). Settings of the studio (``STUDIO_*``) and anything named
like a secret (``*TOKEN*``, ``*KEY*``, ``*SECRET*``, ``*PASSWORD*``, ``*AUTH*``,
``*CREDENTIAL*``) are never passed on, even when a caller names them: a child's output
reaches users (the job log), so a child must have nothing to print.

    env = clean_env(keep=JOB_CHILD_KEEP, extra={"CUDA_VISIBLE_DEVICES": "0"})

Each of them, and the app's worker (``jobs.supervisor``), is started through
:func:`guarded_argv`: it dies with the thread that started it and may get resource
limits, set by a small program that then becomes the child (``exec``), instead of a
``preexec_fn``: Python code run between ``fork`` and ``exec`` in a process with threads
(every lane, the app) can hang for ever on a lock another thread held at the fork.

    env = clean_env()
    subprocess.Popen(guarded_argv(["ffmpeg", "-i", src, dst], env=env), env=env)
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

BASE = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TERM")
# What a job's child (a model's own code in its own environment) may need besides BASE.
JOB_CHILD_KEEP = (
    "HOME",
    "TMPDIR",
    "USER",
    "LOGNAME",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "LD_LIBRARY_PATH",
    "CUDA_HOME",
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "NVIDIA_VISIBLE_DEVICES",
    "PYTORCH_CUDA_ALLOC_CONF",
    "OMP_NUM_THREADS",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "TORCH_HOME",
    "XDG_CACHE_HOME",
)
_SECRET = re.compile(
    r"^STUDIO_|TOKEN(?!IZER)|KEY|SECRET|PASSWORD|PASSWD|AUTH|CREDENTIAL", re.IGNORECASE
)


def is_secret(name: str) -> bool:
    """A variable no child gets: a studio setting, or a name that looks like a secret."""
    return bool(_SECRET.search(name))


def clean_env(
    *,
    home: Path | None = None,
    keep: Iterable[str] = (),
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A child's environment: BASE and the ``keep`` names that are set here (secrets never),
    ``HOME`` and ``TMPDIR`` inside ``home`` when given (``home/tmp`` is made), then ``extra``
    (values the caller chose; secret names are dropped from it too)."""
    env = {
        name: os.environ[name]
        for name in (*BASE, *keep)
        if name in os.environ and not is_secret(name)
    }
    env.setdefault("PATH", os.defpath)
    if home is not None:
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        env.update(HOME=str(home), TMPDIR=str(home / "tmp"))
    env.update({k: v for k, v in (extra or {}).items() if not is_secret(k)})
    return env


# Run by ``python -I -S -c``: its arguments are the parent's pid, the limits
# ("resource:soft:hard,..."), then the program and its arguments, which replace it.
_GUARD = """\
import os, resource, sys
parent, limits, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
try:
    import ctypes
    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
except (ImportError, OSError, AttributeError):
    pass
if os.getppid() != parent:  # the parent died before the line above
    os._exit(1)
for spec in filter(None, limits.split(",")):
    which, soft, hard = map(int, spec.split(":"))
    resource.setrlimit(which, (soft, hard))
try:
    os.execv(argv[0], argv)
except OSError as exc:
    print(f"cannot run {argv[0]}: {exc}", file=sys.stderr)
    os._exit(127)
"""


def guarded_argv(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    limits: Iterable[tuple[int, int, int]] = (),
) -> list[str]:
    """``argv`` started so that the child gets SIGKILL when the thread that started it
    dies (Linux ``PR_SET_PDEATHSIG``; it survives ``exec``), with the resource
    ``limits`` ((``resource.RLIMIT_*``, soft, hard), …) set: what a ``preexec_fn`` would
    do, done by a small Python program (``-I -S``: no site, ~20 ms) that then ``exec``s
    the child, so no Python code runs between ``fork`` and ``exec``. The child keeps
    the pid :class:`subprocess.Popen` reports. A program named without a ``/`` is
    looked up on ``env``'s ``PATH`` (else ours) here, so a missing one raises
    ``FileNotFoundError`` as ``Popen`` would."""
    program, *args = (str(a) for a in argv)
    if "/" not in program:
        path = (env if env is not None else os.environ).get("PATH", os.defpath)
        found = shutil.which(program, path=path)
        if found is None:
            raise FileNotFoundError(errno.ENOENT, f"No such file or directory: {program!r}")
        program = found
    spec = ",".join(f"{which}:{soft}:{hard}" for which, soft, hard in limits)
    return [sys.executable, "-I", "-S", "-c", _GUARD, str(os.getpid()), spec, program, *args]
