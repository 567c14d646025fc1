"""The job panel every tool tab embeds: progress bar, stage, ETA, log tail,
output files, cancel and retry. It polls the job record with ``gr.Timer``;
the job id lives in a textbox (not in browser state), so the user can paste
an id, reload the page, or come back later.

The panel shows only the caller's own jobs (admins: any): another user's job
id reads like an unknown one. Output files are links to the owner-checked
``/api/v1/jobs/{id}/files/{name}`` route (the UI's login works there), not
copies in Gradio's cache."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import gradio as gr

from jobs import queue, store
from jobs.settings import get_settings
from pipelines.errors import StudioError
from studio.errors import message_of
from studio.ui_user import current_user
from studio.visible_tabs import visible_tabs  # also imported from here by the server and tabs

# The panel's look (the Jobs / Monitor tab, always built, adds it to the page):
# thin grey borders rather than Gradio's dark 3 px frame of the Result box.
CSS = """
.job-panel .job-result { border: 1px solid var(--border-color-primary) !important; }
.job-panel .job-status table, .job-panel .job-status th, .job-panel .job-status td { border: none; }
"""


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
        if seconds >= 3600
        else f"{seconds // 60}m {seconds % 60:02d}s"
    )


# Kinds whose end is not known in advance (a scenario runs until its script
# ends; its progress is its share of the timeout): no ETA, which would count
# down to the timeout rather than to the work's end.
OPEN_ENDED_KINDS = frozenset({"monitor.scenario"})

_CELL = "border:none;padding:0.15em 0.5em 0.15em 0;background:none"


def _eta(job: store.Job) -> str:
    if job["status"] != "running" or job["kind"] in OPEN_ENDED_KINDS:
        return "—"
    return _fmt_eta(job.get("eta_s"))


def status_html(job: store.Job | None) -> str:
    if job is None:
        return "<div class='job-status'>No job selected.</div>"
    pct = round(100 * (job["progress"] or 0))
    rows = [
        ("Job", f"{job['id']} · {job['kind']} · {job['owner']}"),
        (
            "Status",
            f"<b class='status-{job['status']}'>{job['status']}</b>"
            + (f" · attempt {job['attempts']}/{job['max_attempts']}" if job["attempts"] else ""),
        ),
        ("Stage", job.get("stage") or "—"),
        ("Item", job.get("item") or "—"),
        ("ETA", _eta(job)),
        ("Message", job.get("message") or "—"),
    ]
    if job.get("error"):
        rows.append(("Error", f"<span class='job-error'>{html.escape(job['error'])}</span>"))
    body = "".join(
        f"<tr style='border:none'><th style='{_CELL}'>{k}</th>"
        f"<td style='{_CELL}'>{v if k in ('Status', 'Error') else html.escape(str(v))}</td></tr>"
        for k, v in rows
    )
    return (
        f"<div class='job-status' data-status='{job['status']}'>"
        f"<progress max='100' value='{pct}' style='width:100%'></progress> <span>{pct}%</span>"
        f"<table style='border:none;border-collapse:collapse'>{body}</table></div>"
    )


def _size(nbytes: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024  # type: ignore[assignment]
    return ""


def files_html(job: store.Job | None) -> str:
    """The job's output files as download links (relative: they work behind a
    proxy's path prefix too)."""
    if not job:
        return "<div class='job-files'></div>"
    folder = store.job_dir(job["id"])
    items = []
    for name in job["outputs"].get("files", []):
        path = folder / str(name)
        if path.is_file():
            url = f"api/v1/jobs/{quote(job['id'])}/files/{quote(str(name))}"
            items.append(
                f"<li><a href='{html.escape(url)}' download target='_blank'>{html.escape(str(name))}</a>"
                f" <span class='job-file-size'>{_size(path.stat().st_size)}</span></li>"
            )
    if not items:
        return "<div class='job-files'></div>"
    return f"<div class='job-files'><b>Outputs</b><ul>{''.join(items)}</ul></div>"


def read_job(job_id: str, request: gr.Request | None = None) -> store.Job | None:
    """The panel's job for the caller, or None (unknown, or another user's)."""
    return store.find_job(job_id, current_user(request))


@dataclass
class JobPanel:
    job_id: gr.Textbox
    status: gr.HTML
    log: gr.Textbox
    files: gr.HTML
    result: gr.JSON
    cancel: gr.Button
    retry: gr.Button
    timer: gr.Timer
    name: str
    poll_s: float

    def follow(self, fn: Callable[..., Any], outputs: list[Any], inputs: list[Any]) -> None:
        """``extra=`` for a panel built with ``extra=LATER``: the tab's views that follow
        the panel's job, built after it (call once)."""
        _wire(self, (fn, outputs, inputs))


_STAMP = re.compile(r"^\[\d\d:\d\d:\d\d\] ?")  # store.append_log's time stamp
TRACEBACK = "Traceback (most recent call last):"
_CHAIN = ("During handling of the above exception", "The above exception was the direct cause")
TRACEBACK_HINT = "(error details in the job's log file, log.txt)"


def hide_tracebacks(log: str) -> str:
    """The log tail without Python tracebacks (they stay in ``log.txt``): each
    block, from its header to the exception line, becomes one hint line."""
    out: list[str] = []
    inside = False
    for line in log.splitlines():
        text = _STAMP.sub("", line, count=1)
        if TRACEBACK in text or text.startswith(_CHAIN):
            if not out or out[-1] != TRACEBACK_HINT:
                out.append(TRACEBACK_HINT)
            inside = True
            continue
        if inside:
            if not text.strip() or text[:1].isspace():
                continue
            inside = False  # the exception line ends the block; the Error row shows the message
            continue
        if not text.strip() and out and out[-1] == TRACEBACK_HINT:
            continue  # the blank line between chained tracebacks
        out.append(line)
    return "\n".join(out)


def can_retry(job: store.Job | None) -> bool:
    """Failed or cancelled, and not for bad input (a retry would fail the same way)."""
    if not job or job["status"] not in ("failed", "cancelled"):
        return False
    return (job["outputs"] or {}).get("error_kind") != "bad_input"


def without_server_paths(value: Any) -> Any:
    """The job's result as the user sees it: paths inside the studio's data
    folder become the file or folder name (the files are the Outputs links)."""
    if isinstance(value, dict):
        return {k: without_server_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_server_paths(v) for v in value]
    if isinstance(value, str) and value.startswith("/"):
        home = str(get_settings().home.resolve())
        if value == home or value.startswith(home + "/"):
            return value.rstrip("/").rsplit("/", 1)[-1]
    return value


def render(job_id: str, request: gr.Request):
    job = read_job(job_id, request)
    if (job_id or "").strip() and job is None:
        return (
            f"<div class='job-status'>No job with id {html.escape(job_id.strip()[:64])}.</div>",
            "",
            files_html(None),
            None,
            gr.update(interactive=False),
            gr.update(interactive=False),
        )
    log = hide_tracebacks(store.read_log(job["id"], tail=60)) if job else ""
    result = (
        without_server_paths(
            {k: v for k, v in job["outputs"].items() if k not in ("files", "error_kind")}
        )
        if job
        else None
    )
    active = bool(job) and job["status"] not in store.FINAL
    return (
        status_html(job),
        log,
        files_html(job),
        result or None,
        gr.update(interactive=active, variant="stop" if active else "secondary"),
        gr.update(interactive=can_retry(job)),
    )


def _act(action, job_id: str, request: gr.Request):
    try:
        action((job_id or "").strip(), current_user(request))
    except StudioError as exc:
        gr.Warning(message_of(exc))
    return render(job_id, request)


def _cancel(job_id: str, request: gr.Request):
    return _act(queue.cancel, job_id, request)


def _retry(job_id: str, request: gr.Request):
    return _act(queue.retry, job_id, request)


# -- polling --------------------------------------------------------------------
#
# A panel polls only while its job can still change (queued or running), only
# while its tab is the one shown (``visible_tabs``), never while the page is
# hidden (Gradio's Timer skips ticks then), and more slowly while nothing
# changes: every POLL_S seconds, ×1.5 after each tick that saw no change, up to
# IDLE_POLL_S. One request per tick carries the panel and any ``extra`` views
# of the tab (charts of the job, say).

POLL_S = 1.0
IDLE_POLL_S = 5.0


def _signature(job: store.Job | None) -> str:
    if job is None:
        return ""
    log = store.job_dir(job["id"]) / "log.txt"
    size = log.stat().st_size if log.exists() else 0
    return f"{job['status']}|{job['stage']}|{job['progress']}|{job['item']}|{job['message']}|{size}"


def next_poll(
    job: store.Job | None, seen: str, interval: float, start: bool = True
) -> tuple[gr.Timer, str, float]:
    """The panel timer's next state: off once the job is over (or there is none);
    POLL_S after a change; slower (×1.5, up to IDLE_POLL_S) while nothing changes.
    ``start=False`` (a tick's answer) sets the pace only: a tick answered after its
    tab was left must not start the timer the tab switch paused."""
    if job is None or job["status"] in store.FINAL:
        return gr.Timer(active=False), "", POLL_S
    signature = _signature(job)
    interval = POLL_S if signature != seen else min(IDLE_POLL_S, max(POLL_S, interval * 1.5))
    timer = gr.Timer(value=interval, active=True) if start else gr.Timer(value=interval)
    return timer, signature, interval


def _arm(job_id: str, request: gr.Request):
    """A new job id in the panel: start polling if its job can still change."""
    return next_poll(read_job(job_id, request), "", POLL_S)


def _restore(current: str, remembered: str):
    """Once, when the tab is first shown: put the remembered job id back."""
    value = remembered if (remembered and not (current or "").strip()) else gr.update()
    return value, gr.Timer(active=False)


# ``(fn, outputs)`` or ``(fn, outputs, inputs)``: fn(job_id, *inputs, request) -> outputs
Extra = tuple[Callable[..., Any], list[Any]] | tuple[Callable[..., Any], list[Any], list[Any]]
LATER = "later"  # job_panel(extra=LATER): the tab calls panel.follow(...) once its views exist


def job_panel(
    name: str,
    label: str = "Job",
    poll_s: float = POLL_S,
    extra: Extra | str | None = None,
) -> JobPanel:
    """Build the panel inside the current Blocks context. ``name`` prefixes
    the panel's API endpoints (e.g. ``frames_job_status``).

    ``extra=(fn, outputs[, inputs])``: views of the tab that follow the panel's job,
    refreshed in the same request as the panel (``fn(job_id, *inputs, request)``
    returns the values of ``outputs``) — rather than a second handler on
    ``panel.timer`` or a timer of the tab's own. ``extra=LATER`` when those views
    are built after the panel (further down the page): the tab then calls
    ``panel.follow(fn, outputs, inputs)`` once, after building them."""
    with gr.Group(elem_classes=["job-panel"]):
        job_id = gr.Textbox(
            label=f"{label} id",
            placeholder="submit a job, or paste a job id",
            elem_id=f"{name}-job-id",
        )
        status = gr.HTML(status_html(None), elem_id=f"{name}-job-status")
        result = gr.JSON(label="Result", visible=True, elem_classes=["job-result"])
        with gr.Row():
            cancel = gr.Button(
                "Cancel",
                variant="secondary",
                size="sm",
                interactive=False,
                elem_id=f"{name}-cancel",
            )
            retry = gr.Button("Retry", size="sm", interactive=False, elem_id=f"{name}-retry")
        files = gr.HTML(files_html(None), elem_id=f"{name}-job-files")
        log = gr.Textbox(
            label="Log (tail)",
            lines=8,
            max_lines=12,
            autoscroll=True,
            interactive=False,
            elem_id=f"{name}-job-log",
        )
    timer = gr.Timer(poll_s, active=False)
    panel = JobPanel(job_id, status, log, files, result, cancel, retry, timer, name, poll_s)
    if extra != LATER:
        _wire(panel, extra if isinstance(extra, tuple) else None)
    return panel


def _wire(panel: JobPanel, extra: Extra | None) -> None:
    """The panel's events: its poll (with the tab's views of ``extra``), show, cancel,
    retry, and the remembered job id."""
    name, poll_s = panel.name, panel.poll_s
    job_id, timer = panel.job_id, panel.timer
    outputs = [panel.status, panel.log, panel.files, panel.result, panel.cancel, panel.retry]
    cancel, retry, log = panel.cancel, panel.retry, panel.log
    seen = gr.State("")
    interval = gr.State(poll_s)
    extra_fn, extra_outputs = (extra[0], extra[1]) if extra else (None, [])
    extra_inputs: list[Any] = list(extra[2]) if extra and len(extra) > 2 else []

    # ``request`` before the tab's inputs: Gradio passes it to the positional parameter
    # annotated gr.Request and the inputs after it (never to one after ``*more``)
    def poll(
        job_id_value: str, seen_value: str, interval_value: float, request: gr.Request, *more: Any
    ):
        job = read_job(job_id_value, request)
        views = tuple(extra_fn(job_id_value, *more, request)) if extra_fn else ()
        pace = next_poll(job, seen_value, interval_value, start=False)
        return (*render(job_id_value, request), *pace, *views)

    timer.tick(
        poll,
        [job_id, seen, interval, *extra_inputs],
        [*outputs, timer, seen, interval, *extra_outputs],
        api_visibility="private",
        show_progress="hidden",
        queue=False,
    )

    def show(job_id_value: str, request: gr.Request):
        # One read decides both what is shown and whether to keep polling, so a
        # job that ends between two events can't leave the panel on "running".
        job = read_job(job_id_value, request)
        return (*render(job_id_value, request), *next_poll(job, "", POLL_S))

    job_id.change(
        show,
        job_id,
        [*outputs, timer, seen, interval],
        api_name=f"{name}_job_status",
        show_progress="hidden",
    )
    # The log tail follows new lines (in the browser; no request).
    log.change(
        None,
        None,
        None,
        js=f"() => {{ const t = document.querySelector('#{name}-job-log textarea');"
        " if (t) t.scrollTop = t.scrollHeight; }",
    )
    if extra_fn:

        def follow(job_id_value: str, request: gr.Request, *more: Any):
            views = tuple(extra_fn(job_id_value, *more, request))
            return views[0] if len(views) == 1 else views  # one output: its value, not a 1-tuple

        job_id.change(
            follow,
            [job_id, *extra_inputs],
            extra_outputs,
            api_visibility="private",
            show_progress="hidden",
            queue=False,
        )
    # The browser remembers only the id of the panel's last job, so a reload
    # (or coming back tomorrow) shows it again; the work itself is on the server.
    last_job = gr.BrowserState("", storage_key=f"studio-{name}-last-job")
    job_id.change(None, job_id, last_job, js="(value) => value")
    # Tabs render their contents when first shown; this one-shot timer starts
    # with them and puts the remembered job id back, then stops.
    restore = gr.Timer(0.3)
    visible_tabs.leave_alone(restore)
    restore.tick(
        _restore,
        [job_id, last_job],
        [job_id, restore],
        api_visibility="private",
        show_progress="hidden",
        queue=False,
    )
    for button, action, verb in ((cancel, _cancel, "cancel"), (retry, _retry, "retry")):
        button.click(action, job_id, outputs, api_name=f"{name}_job_{verb}").then(
            _arm,
            job_id,
            [timer, seen, interval],
            api_visibility="private",
            show_progress="hidden",
            queue=False,
        )
    # shown again: polls while its box holds a job id (the next tick stops if the job is over)
    visible_tabs.poll_while_shown(
        timer, needs=job_id, pace=poll_s, resets={seen: "", interval: poll_s}
    )


# -- which tab is shown ----------------------------------------------------------
