"""Shared fixtures: a fresh STUDIO_HOME per test, a real worker process
(``python -m jobs.worker``) on it, and a real studio server (``python app.py``)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
# PostgreSQL and Redis for the tests (fixtures postgres_url, redis_url, database_url).
pytest_plugins = ["tests.servers"]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
import studio  # noqa: E402,F401  Gradio without its stub writer in every test process (studio.gradio_stubs)


@pytest.fixture(scope="session")
def migrated_studio_db(tmp_path_factory) -> Path:
    """A studio.db made by ``jobs.records.upgrade`` on an empty folder, once per
    session: each test's studio_home starts from a copy (a fresh upgrade costs
    ~0.3 s of DDL; the copy ~1 ms, and the upgrade on it is a one-query no-op)."""
    from jobs import records
    from jobs.settings import reset_settings

    home = tmp_path_factory.mktemp("migrated")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STUDIO_HOME", str(home))
        patch.delenv("STUDIO_DATABASE_URL", raising=False)
        patch.delenv("DATABASE_URL", raising=False)
        reset_settings()
        records.upgrade()
        records.dispose()  # the last connection checkpoints the WAL: one self-contained file
    reset_settings()
    return home / "studio.db"


@pytest.fixture(scope="session")
def tiny_blips(tmp_path_factory):
    """``tiny_blips(word)``: a tiny random-weight BLIP captioner that says ``word``, built
    once per word and session (tests only read it), alone in its folder (the folder
    above it can be STUDIO_MODELS_DIR)."""
    from tests.caption_fakes import build_tiny_blip

    built: dict[str, Path] = {}

    def get(word: str) -> Path:
        if word not in built:
            folder = tmp_path_factory.mktemp(f"blip-{word}") / "tiny-blip"
            built[word] = build_tiny_blip(folder, word=word)
        return built[word]

    return get


@pytest.fixture
def studio_home(tmp_path, monkeypatch, migrated_studio_db):
    """A fresh data folder with its records migrated (as ``python app.py`` does at
    start) and the tabs' example media in place (see :func:`link_examples`);
    settings re-read from the environment."""
    from jobs import records
    from jobs.settings import reset_settings

    home = tmp_path / "studio-data"
    home.mkdir()
    shutil.copyfile(migrated_studio_db, home / "studio.db")
    link_examples(home)
    monkeypatch.setenv("STUDIO_HOME", str(home))
    monkeypatch.setenv("STUDIO_HEARTBEAT_S", "0.5")
    for name in (
        "STUDIO_AUTH",
        "STUDIO_API_TOKENS",
        "STUDIO_ADMINS",
        "STUDIO_QUEUE_URL",
        "STUDIO_DATABASE_URL",
        "DATABASE_URL",
        "STUDIO_DEMO",
        "SPACE_ID",
        "STUDIO_API_ENDPOINTS",
        "STUDIO_OUTPUT_ROOTS",
        "STUDIO_MAX_JOBS_PER_USER",
    ):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    records.upgrade()
    yield home
    records.dispose()
    reset_settings()


_APPS: dict[str, object] = {}


def studio_app():
    """``create_app()`` for the current settings, built once per test process for each set
    of settings other than STUDIO_HOME. A studio serves one app for its whole life and
    reads STUDIO_HOME (like every per-request setting) at each request, so a test on a
    fresh home gets the app an earlier test built on the same settings, as a second
    visitor gets the running studio's; what it shows a test is that test's own home.
    Only Gradio's own file route keeps the first home it was built on (``allowed_paths``):
    a test of that route builds its own app. Building one costs ~2 CPU-s (Gradio computes
    the page's config five times); the suite built ~75 before this."""
    from jobs.settings import get_settings
    from studio.server import create_app

    key = get_settings().model_dump_json(exclude={"home"})
    app = _APPS.pop(key, None) or create_app()
    _APPS[key] = app  # the newest last; the four most recent kept (~7 MB each)
    while len(_APPS) > 4:
        _APPS.pop(next(iter(_APPS)))
    return app


class Process:
    """A child process in its own session, killed with everything it started."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path):
        self.log = log
        self._fh = open(log, "ab")
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        self._fh.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_worker(studio_home, tmp_path):
    """Start ``python -m jobs.worker`` on the test's STUDIO_HOME; returns the Process."""
    started: list[Process] = []

    def start() -> Process:
        proc = Process(
            [sys.executable, "-m", "jobs.worker"],
            dict(os.environ),
            tmp_path / f"worker-{len(started)}.log",
        )
        started.append(proc)
        wait_for_lanes(alive=True)
        return proc

    yield start
    for proc in started:
        proc.kill(signal.SIGKILL)


def wait_for_lanes(alive: bool = True, timeout: float = 60) -> None:
    from studio.health import health

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if health()["worker"]["alive"] == alive:
            return
        time.sleep(0.2)
    raise AssertionError("worker lanes did not come up")


def wait_job(
    job_id: str, statuses=("succeeded", "failed", "cancelled"), timeout: float = 60
) -> dict:
    from jobs import store

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = store.get_job(job_id)
        if job["status"] in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(
        f"job {job_id} stayed {store.get_job(job_id)['status']} (wanted {statuses})"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Settings a test's studio never inherits from the shell that runs the tests.
CLEARED_SETTINGS = (
    "STUDIO_AUTH",
    "STUDIO_API_TOKENS",
    "STUDIO_ADMINS",
    "STUDIO_WORKER",
    "STUDIO_QUEUE_URL",
    "STUDIO_DATABASE_URL",
    "DATABASE_URL",
    "STUDIO_ALLOWED_ROOTS",
    "STUDIO_OUTPUT_ROOTS",
    "STUDIO_API_ENDPOINTS",
    "STUDIO_MAX_JOBS_PER_USER",
    "STUDIO_DEMO",
    "SPACE_ID",
    "STUDIO_DATABASE_URL",
    "DATABASE_URL",
    "STUDIO_MODELS_DIR",
    "MODELS_DIR",
    "STUDIO_API_BASE_URL",
    "STUDIO_API_KEY",
    "STUDIO_WAN_ANIMATE_MODEL",
    "STEADYDANCER_DIR",
)


@cache
def example_media() -> Path:
    """The tabs' example media (pipelines.examples), made once per test process: each
    fresh data folder (:func:`studio_home`, :func:`run_studio`) gets hard links to them
    instead of its studio drawing and encoding them again when it builds its tabs."""
    from pipelines import examples

    home = Path(tempfile.mkdtemp(prefix="studio-examples-"))
    for make in (examples.photos, examples.videos, examples.recording, examples.video_edit):
        make(home)
    examples.dance(home)
    return examples.folder(home)


def link_examples(home: Path) -> None:
    """Hard links to :func:`example_media` in ``home/examples`` unless it has them: a
    studio built on ``home`` (``python app.py`` or ``create_app()`` in the test) finds
    its tabs' examples there and does not draw and encode them again (~2 CPU-s a build
    on a fresh data folder). The studio only reads them."""
    if not (home / "examples").exists():
        home.mkdir(parents=True, exist_ok=True)
        shutil.copytree(example_media(), home / "examples", copy_function=os.link)


@contextmanager
def run_studio(folder: Path, worker: bool = True, **settings: str):
    """``python app.py`` — the README's first command — on a free port, with its data in
    ``folder/studio-data`` and the given settings (``STUDIO_AUTH="ana:pw"``...). Waits
    until it answers (and, with ``worker``, until its worker child is alive); yields
    (base_url, home, process) and stops it after."""
    home = folder / "studio-data"
    link_examples(home)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_SETTINGS}
    env.update(
        STUDIO_HOME=str(home),
        GRADIO_SERVER_PORT=str(port),
        GRADIO_SERVER_NAME="127.0.0.1",
        STUDIO_HEARTBEAT_S="0.5",
        **settings,
    )
    proc = Process([sys.executable, "app.py"], env, folder / "app.log")
    base = f"http://127.0.0.1:{port}"
    # Generous: a loaded machine starts the app (and answers its first requests) slowly;
    # a healthy start is not slowed by it.
    deadline = time.monotonic() + 240
    health = None
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"{base}/api/v1/health", timeout=15).json()
            if not worker or health["worker"]["alive"]:
                break
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        if proc.proc.poll() is not None:
            raise AssertionError(f"app.py exited:\n{proc.output()}")
        time.sleep(0.5)
    else:
        proc.kill()
        raise AssertionError(f"studio not healthy in 240 s (last: {health}):\n{proc.output()}")
    try:
        yield base, home, proc
    finally:
        proc.kill(signal.SIGTERM)


@pytest.fixture(scope="session")
def studio_server(tmp_path_factory):
    """The studio most app-level tests share: ``python app.py`` with default settings and
    its own worker child. Yields (base_url, home, process)."""
    with run_studio(tmp_path_factory.mktemp("server")) as server:
        yield server


# -- browser (Playwright + Debian Chromium) ----------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"  # screenshots


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium (.ci/run installs it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.call_report = report  # read by the page fixture: a failed test leaves a screenshot
    return report


@pytest.fixture
def page(browser, request):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    network: list[str] = []  # printed when the test fails
    page.on("requestfailed", lambda r: network.append(f"failed {r.method} {r.url}: {r.failure}"))
    page.on(
        "response",
        lambda r: r.status >= 400 and network.append(f"{r.status} {r.request.method} {r.url}"),
    )
    yield page
    report = getattr(request.node, "call_report", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}.png"), full_page=True)
        print("network trouble seen by the page:", *network, sep="\n  ")
    page.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


# Gradio (6.31) renders a tab's or a closed accordion's contents when they are
# first shown and, once all of them have mounted, sets each of those controls
# once more to its initial value (one animation frame after the last one
# mounts). Text typed into a control before that is replaced by the default, on
# the page and so in the next event: a frame_num typed at once into the
# just-opened Config accordion reached the server as 81. A person can't type
# that fast; a test can, so it waits until the page has stopped changing
# before it types or picks.
_SETTLED = """async () => {
    const root = document.querySelector('.gradio-container') || document.body;
    let last = performance.now();
    const seen = new MutationObserver(() => { last = performance.now(); });
    seen.observe(root, {subtree: true, childList: true, attributes: true, characterData: true});
    const start = performance.now();
    let frames = 0;
    while ((frames < 3 || performance.now() - last < 300) && performance.now() - start < 10000) {
        await new Promise(resolve => requestAnimationFrame(resolve));
        frames++;
    }
    seen.disconnect();
}"""


def settled(page) -> None:
    """Wait until Gradio has finished rendering what was just shown (no DOM change for 0.3 s)."""
    page.evaluate(_SETTLED)


_TABLE_CELLS = """scope => [...document.querySelectorAll(scope + ' table')]
  .filter(t => t.offsetParent !== null)
  .map(t => {
    const host = t.closest('[id]'), box = t.closest('.table-wrap') || t.parentElement;
    const heads = [...t.querySelectorAll('thead th')].filter(th => th.offsetParent !== null).map(th => {
      const text = th.querySelector('span.header') || th;
      return [th.innerText.trim(), Math.round(th.getBoundingClientRect().width),
              text.scrollWidth > text.clientWidth + 1]; });
    return [host ? host.id : '', t.scrollWidth, box.clientWidth, heads]; })"""


def table_layout_problems(page, scope: str = "body", wait_s: float = 5.0) -> list[tuple]:
    """What a user cannot read in the tables shown under ``scope``: a header cell narrower
    than 40 px or with its name cut off, as (table's element id, name, width); a table wider
    than its box (read only by scrolling sideways), as (element id, width, box's width).
    Gradio sizes a table's columns after drawing it, and again when its data or its box
    changes: the check starts once the page has settled (a tab fills its tables when first
    shown) and reports a problem only when it lasts ``wait_s``."""
    settled(page)
    deadline = time.monotonic() + wait_s
    while True:
        found: list[tuple] = []
        for host, width, room, heads in page.evaluate(_TABLE_CELLS, scope):
            if width > room + 1:
                found.append((host, width, room))
            found += [(host, name, w) for name, w, cut in heads if w < 40 or cut]
        if not found or time.monotonic() > deadline:
            return found
        page.wait_for_timeout(200)


def upload_files(page, elem_id: str, *paths) -> None:
    """Choose files in the gr.File ``#elem_id`` and wait until each is uploaded (its row
    in the file table: while uploading, Gradio shows the names in a progress view)."""
    page.locator(f"#{elem_id} input[type=file]").set_input_files([str(p) for p in paths])
    for path in paths:
        name = Path(path).name
        page.locator(f"#{elem_id} td.filename[aria-label='{name}']").wait_for(timeout=60_000)


# Tests that start real processes — the worker, `python app.py`, Chromium — are
# the slow part of the suite: `pytest -m "not slow"` leaves them out and runs
# the pipeline- and record-level tests in a couple of minutes.
SLOW_FIXTURES = {"start_worker", "_module_worker", "studio_server", "browser", "page"}


# With pytest-xdist (`-n 3 --dist loadgroup`, the README's test command) the tests that
# share the session's `python app.py` or Chromium run in one worker, one after the
# other, so one studio and one browser serve them all; the rest spread over the workers.
SHARED_FIXTURES = {"studio_server", "browser", "page"}


def _module_scoped_fixture(item) -> bool:
    """Does the test use a fixture set up once per module (or package)?"""
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.values() if info is not None else ()
    return any(d.scope in ("module", "package") for chain in defs for d in chain)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if SLOW_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slow)
        if SHARED_FIXTURES & fixtures:
            item.add_marker(pytest.mark.xdist_group("studio"))
        elif "postgres_url" in fixtures:  # database_url's postgres runs are marked by it
            item.add_marker(pytest.mark.xdist_group("postgres"))
        elif _module_scoped_fixture(item):
            # One worker runs the module, so its module-scoped fixture (a GPU benchmark dry
            # run, generated recordings, tiny models) is set up once, not once per worker.
            item.add_marker(pytest.mark.xdist_group(f"module:{item.nodeid.split('::')[0]}"))
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # xdist hands out the groups first (it orders work units by their number of
        # tests), then the single tests in this order, each to the worker running short.
        # Modules with slow tests first: the run ends on tests of a second or less, not
        # with one worker idle while the other finishes a test of a minute. (A stable
        # sort by module: a module's tests stay together and in order.)
        slow = {item.path for item in items if item.get_closest_marker("slow")}
        items.sort(key=lambda item: item.path not in slow)
