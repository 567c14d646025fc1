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
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
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
