"""What the studio and its worker are doing right now (read-only)."""

from __future__ import annotations

import json
import time
from typing import Any

from jobs import store
from jobs.db import database
from jobs.kinds import LANES
from jobs.settings import get_settings


def workers() -> list[dict[str, Any]]:
    now = time.time()
    rows = database().query("select * from workers order by heartbeat_at desc")
    stale = max(5 * get_settings().heartbeat_s, 5.0)
    result = []
    for row in rows:
        age = now - row["heartbeat_at"]
        if age > 3600:
            continue
        result.append({"id": row["id"], "lane": row["lane"], "host": row["host"], "pid": row["pid"],
                       "alive": age <= stale, "heartbeat_age_s": round(age, 2),
                       "info": json.loads(row["info"] or "{}")})
    return result


def health() -> dict[str, Any]:
    live = [w for w in workers() if w["alive"]]
    lanes = {lane: any(w["lane"] == lane for w in live) for lane in LANES}
    ages = [w["heartbeat_age_s"] for w in live]
    queued = store.count_by_lane("queued")
    running = store.count_by_lane("running")
    return {
        "status": "ok",
        "worker": {"alive": all(lanes.values()), "lanes": lanes,
                   "heartbeat_age_s": min(ages) if ages else None},
        "queues": {lane: queued.get(lane, 0) for lane in LANES},
        "running": {lane: running.get(lane, 0) for lane in LANES},
    }


def worker_samples(seconds: float = 300) -> list[dict[str, Any]]:
    since = time.time() - seconds
    return list(database().query(
        "select lane, t, cpu_percent, rss_mb, gpu_mem_mb, gpu_util from worker_samples "
        "where t >= ? order by t", [since]))
