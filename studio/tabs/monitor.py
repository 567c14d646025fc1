"""Scenario runs (inside Jobs / Monitor): write a scenario script, choose what
to watch, run it as a job and see its CPU / memory live.

Scenario scripts are code run on the server: the editor is shown to admins
only, and in an open studio (no logins) not at all unless
STUDIO_ALLOW_SCENARIO_SCRIPTS=1 — the tab says so instead. Every event checks
again on the server (``scenarios.check_scripts_allowed``)."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from jobs import store
from jobs.access import User, owner_filter
from jobs.tools.monitor import scenarios
from pipelines.errors import StudioError
from pipelines.monitor.resources import METRICS
from studio.errors import message_of, ui_error
from studio.job_panel import job_panel, visible_tabs
from studio.tabs.jobs import chart_frame
from studio.ui_user import current_user

EXAMPLE = '''"""A scenario: drive the app under test; the studio samples this script's
process tree (and processes named in 'target') while it runs."""
import subprocess, time

print("open the app")
blob = bytearray(50 * 2**20)   # stand-in for the app's work: 50 MB
time.sleep(2)
print("scenario done")
'''
RUN_COLUMNS = ["job", "scenario", "status", "owner", "peak MB", "message"]
RUNS_POLL_S = 3.0
RUNS_IDLE_POLL_S = 15.0


def _allowed_user(request: gr.Request | None) -> User:
    user = current_user(request)
    try:
        scenarios.check_scripts_allowed(user)
    except StudioError as exc:
        raise ui_error(exc) from None
    return user


def scenario_names(user: User) -> list[str]:
    return [s["name"] for s in scenarios.list_all(user, user.name)]  # names are per owner


def load(name: str, request: gr.Request):
    user = _allowed_user(request)
    if not name:
        return "", EXAMPLE, "python", ["cpu_percent", "rss_mb", "threads"], 0.5, 600, ""
    try:
        s = scenarios.get(name, user)
    except StudioError as exc:
        raise ui_error(exc) from None
    return (
        s["name"],
        s["code"],
        s["language"],
        s["metrics"],
        s["interval_s"],
        s["timeout_s"],
        s["target"],
    )


def save(name, code, language, metrics, interval_s, timeout_s, target, request: gr.Request):
    user = _allowed_user(request)
    try:
        fields = dict(
            code=code or "",
            language=language,
            metrics=list(metrics or []),
            interval_s=float(interval_s or 0.5),
            timeout_s=float(timeout_s or 600),
            target=target or "",
        )
        try:
            scenarios.update(name, user, **fields)
            gr.Info(f"Scenario {name} saved.")
        except scenarios.ScenarioNotFound:
            scenarios.create(name, fields.pop("code"), user=user, **fields)
            gr.Info(f"Scenario {name} created.")
    except (StudioError, ValueError, OverflowError) as exc:
        gr.Warning(message_of(exc))
    names = scenario_names(user)
    return gr.update(choices=names, value=name if name in names else None)


def remove(name: str, request: gr.Request):
    user = _allowed_user(request)
    try:
        scenarios.delete(name, user)
        gr.Info(f"Scenario {name} deleted.")
    except StudioError as exc:
        gr.Warning(message_of(exc))
    return gr.update(choices=scenario_names(user), value=None)


def run(name: str, request: gr.Request) -> str:
    user = _allowed_user(request)
    try:
        return scenarios.submit_run(name, user)["id"]
    except scenarios.ScenarioNotFound:
        gr.Warning("Save the scenario first, then run it.")
        return ""


def runs(request: gr.Request):
    """The caller's scenario runs (admins: everyone's)."""
    jobs, _ = store.list_jobs(
        kind="monitor.scenario", owner=owner_filter(current_user(request)), limit=20
    )
    return pd.DataFrame(
        [
            [
                j["id"],
                j["params"].get("name"),
                j["status"],
                j["owner"],
                (j["outputs"].get("summary") or {}).get("rss_mb", {}).get("max"),
                j["error"] or j["message"],
            ]
            for j in jobs
        ],
        columns=RUN_COLUMNS,
    )


def runs_polled(idle_s: float, request: gr.Request):
    """The runs table; every RUNS_POLL_S while one of them is queued or running, slower (up to
    RUNS_IDLE_POLL_S) while none is."""
    table = runs(request)
    busy = any(status in ("queued", "running") for status in table["status"])
    interval = (
        RUNS_POLL_S if busy else min(RUNS_IDLE_POLL_S, max(RUNS_POLL_S, 2 * float(idle_s or 0)))
    )
    # the pace only: a tick answered after the tab was left must not restart it
    return table, gr.Timer(value=interval), interval


def live(job_id: str, request: gr.Request):
    job = store.find_job(job_id, current_user(request))
    samples = store.job_samples(job["id"]) if job else []
    frame = chart_frame(samples, ["t", "cpu_percent", "rss_mb", "gpu_mem_mb", "gpu_util"])
    return frame, frame


def shown_for(request: gr.Request):
    """On opening the sub-tab: the editor for users who may write scripts, the reason for others."""
    user = current_user(request)
    reason = scenarios.scripts_refusal(user)
    if reason:
        return (
            gr.update(
                value=f"**Scenario scripts are not available to you.** {reason}", visible=True
            ),
            gr.update(visible=False),
            gr.update(),
        )
    return (
        gr.update(visible=False),
        gr.update(visible=True),
        gr.update(choices=scenario_names(user)),
    )


def picker_choices(request: gr.Request):
    """The saved scenarios, read on every page load (not once at server start)."""
    user = current_user(request)
    if scenarios.scripts_refusal(user):
        return gr.update()
    return gr.update(choices=scenario_names(user))


def scripts_off_everywhere() -> str | None:
    """The reason when no user of this studio may write scripts (then no editor is built at all)."""
    return scenarios.scripts_refusal(User("anyone", True))  # refused even to an admin


def build(tab: gr.Tab | None = None) -> None:
    off = scripts_off_everywhere()
    if off:
        gr.Markdown(f"**Scenario scripts are off in this studio.** {off}", elem_id="scenario-off")
        return
    notice = gr.Markdown("Scenario scripts are for admins.", visible=False, elem_id="scenario-off")
    with gr.Column(visible=tab is None) as editor:
        with gr.Row():
            with gr.Column(scale=3):
                picker = gr.Dropdown(
                    [], label="Saved scenarios", allow_custom_value=False, elem_id="scenario-picker"
                )
                name = gr.Textbox(
                    label="Name",
                    placeholder="e.g. cold_start_login",
                    max_length=64,
                    elem_id="scenario-name",
                )
                code = gr.Code(
                    EXAMPLE,
                    language="python",
                    label="Scenario script",
                    lines=14,
                    elem_id="scenario-code",
                )
            with gr.Column(scale=2):
                language = gr.Radio(["python", "bash"], value="python", label="Language")
                metrics = gr.CheckboxGroup(
                    list(METRICS),
                    value=["cpu_percent", "rss_mb", "threads"],
                    label="Metrics to sample",
                    info="; ".join(f"{k}: {v}" for k, v in METRICS.items()),
                )
                with gr.Row():
                    interval = gr.Number(0.5, label="Interval (s)", minimum=0.05, maximum=60)
                    timeout = gr.Number(600, label="Timeout (s)", minimum=1, maximum=24 * 3600)
                target = gr.Textbox(
                    label="Also watch processes named",
                    placeholder="optional, e.g. chrome",
                    max_length=200,
                )
                with gr.Row():
                    save_btn = gr.Button("Save", elem_id="scenario-save")
                    delete_btn = gr.Button("Delete", variant="stop")
                    run_btn = gr.Button("Run", variant="primary", elem_id="scenario-run")
        cpu = gr.LinePlot(
            x="time",
            y="cpu_percent",
            title="Scenario CPU %",
            height=220,
            render=False,
            y_lim=[0, None],
        )
        mem = gr.LinePlot(
            x="time",
            y="rss_mb",
            title="Scenario memory (MB)",
            height=220,
            render=False,
            y_lim=[0, None],
        )
        panel = job_panel("scenario", label="Scenario run", extra=(live, [cpu, mem]))
        with gr.Row():
            cpu.render()
            mem.render()
        table = gr.Dataframe(
            pd.DataFrame([], columns=RUN_COLUMNS),
            label="Recent scenario runs",
            interactive=False,
            wrap=True,
            column_widths=["12%", "20%", "10%", "10%", "8%", "40%"],
        )

    if tab is not None:
        tab.select(
            shown_for,
            None,
            [notice, editor, picker],
            api_visibility="private",
            show_progress="hidden",
        )
    gr.on(
        None,
        picker_choices,
        None,
        picker,
        api_visibility="private",
        show_progress="hidden",
        queue=False,
    )
    fields = [name, code, language, metrics, interval, timeout, target]
    picker.change(load, picker, fields, api_name="scenario_get")
    save_btn.click(save, fields, picker, api_name="scenario_save")
    delete_btn.click(remove, name, picker, api_name="scenario_delete")
    run_btn.click(run, name, panel.job_id, api_name="scenario_run")
    idle = gr.State(0.0)
    runs_timer = gr.Timer(RUNS_POLL_S)
    runs_timer.tick(
        runs_polled,
        idle,
        [table, runs_timer, idle],
        api_visibility="private",
        show_progress="hidden",
        queue=False,
    )
    visible_tabs.poll_while_shown(runs_timer)
