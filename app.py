"""Start the studio: ``python app.py`` → http://127.0.0.1:7860 (GRADIO_SERVER_NAME /
GRADIO_SERVER_PORT), REST API at /api/v1, OpenAPI at /docs.

The worker (``python -m jobs.worker``) is started as a child process unless
STUDIO_WORKER=external. All state lives under STUDIO_HOME (./studio-data).
"""

from __future__ import annotations

import atexit
import signal
import subprocess
import sys

import uvicorn

from jobs.settings import get_settings
from studio.server import create_app


def start_worker() -> subprocess.Popen:
    worker = subprocess.Popen([sys.executable, "-m", "jobs.worker"])

    def stop_worker() -> None:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()

    atexit.register(stop_worker)
    return worker


def main() -> None:
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    if settings.worker == "child":
        start_worker()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = create_app()
    print(f"Studio on http://{settings.server_name}:{settings.server_port}  (data: {settings.home})", flush=True)
    uvicorn.run(app, host=settings.server_name, port=settings.server_port, log_level="warning")


if __name__ == "__main__":
    main()
