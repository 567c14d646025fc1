"""API keys reach jobs out of band and live exactly as long as the job may need them."""

from __future__ import annotations

import json
import stat

import pytest

from jobs import queue, secrets, store
from tests.conftest import wait_job


def test_a_secret_is_a_0600_file_outside_the_record_until_the_job_succeeds(
    studio_home, start_worker
):
    start_worker()
    ref = secrets.hand_over("sk-very-secret")
    path = studio_home / "secrets" / ref
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    failing = queue.submit("system.sleep", {"seconds": "soon", secrets.PARAM: ref})
    assert wait_job(failing["id"])["status"] == "failed"
    assert secrets.read(ref) == "sk-very-secret"  # kept: the user may retry the failed job

    ok = queue.submit("system.sleep", {"seconds": 0.1, "steps": 1, secrets.PARAM: ref})
    assert wait_job(ok["id"])["status"] == "succeeded"
    assert not path.exists()  # gone once the job no longer needs it
    with pytest.raises(ValueError, match="submit again"):
        secrets.read(ref)
    record = (
        json.dumps(store.get_job(ok["id"])) + (store.job_dir(ok["id"]) / "status.json").read_text()
    )
    assert "sk-very-secret" not in record + store.read_log(ok["id"])


def test_bad_references_are_refused(studio_home):
    with pytest.raises(ValueError):
        secrets.read("../studio.db")
    assert secrets.hand_over("") is None
