"""Start the studio: ``python app.py`` → http://127.0.0.1:7860 (GRADIO_SERVER_NAME /
GRADIO_SERVER_PORT), REST API at /api/v1, OpenAPI at /docs.

The worker (``python -m jobs.worker``) is started as a child process and kept
alive (``jobs.supervisor``: restarted with backoff when it dies, given up
loudly after STUDIO_WORKER_GIVE_UP_AFTER crashes in a row at start) unless
STUDIO_WORKER=external. All state lives under STUDIO_HOME (./studio-data).
"""

from __future__ import annotations

import atexit
import logging
import signal
import sys

import uvicorn

from jobs import machines, records, supervisor
from jobs.settings import get_settings
from studio.auth import start_refusal


def main() -> None:
    settings = get_settings()
    refusal = start_refusal(settings)
    if refusal:
        print(f"Studio not started. {refusal}", file=sys.stderr, flush=True)
        sys.exit(2)
    settings.home.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    records.upgrade()  # the schema, once, before the worker or a request touches it
    refusal = machines.sqlite_shared_refusal()
    if refusal:
        print(f"Studio not started. {refusal}", file=sys.stderr, flush=True)
        sys.exit(2)
    if settings.worker == "child":
        supervisor.start_worker_child()
        atexit.register(supervisor.stop_worker_child)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    from studio.server import create_app  # Gradio: imported once the settings are accepted

    app = create_app()
    demo = "  public demo: one visitor per browser" if settings.demo_mode else ""
    print(
        f"Studio on http://{settings.server_name}:{settings.server_port}  (data: {settings.home})"
        f"{demo}",
        flush=True,
    )
    uvicorn.run(app, host=settings.server_name, port=settings.server_port, log_level="warning")


if __name__ == "__main__":
    main()
