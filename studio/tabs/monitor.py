"""Scenario runs (inside Jobs / Monitor): write a scenario script, choose what
to watch, run it as a job and see its CPU / memory live."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from jobs import store
from jobs.tools.monitor import scenarios
from pipelines.monitor.resources import METRICS
from studio.job_panel import job_panel
from studio.ui_user import current_user

EXAMPLE = '''"""A scenario: drive the app under test; the studio samples this script's
process tree (and processes named in 'target') while it runs."""
import subprocess, time

print("open the app")
blob = bytearray(50 * 2**20)   # stand-in for the app's work: 50 MB
time.sleep(2)
print("scenario done")
'''


def scenario_names() -> list[str]:
    return [s["name"] for s in scenarios.list_all()]


def load(name: str):
    if not name:
        return "", EXAMPLE, "python", ["cpu_percent", "rss_mb", "threads"], 0.5, 600, ""
    s = scenarios.get(name)
    return s["name"], s["code"], s["language"], s["metrics"], s["interval_s"], s["timeout_s"], s["target"]


def save(name, code, language, metrics, interval_s, timeout_s, target, request: gr.Request):
    fields = dict(code=code, language=language, metrics=list(metrics or []), interval_s=float(interval_s),
                  timeout_s=float(timeout_s), target=target or "")
    try:
        try:
            scenarios.update(name, **fields)
            gr.Info(f"Scenario {name} saved.")
        except scenarios.ScenarioNotFound:
            scenarios.create(name, owner=current_user(request).name, **fields)
            gr.Info(f"Scenario {name} created.")
    except ValueError as exc:
        gr.Warning(str(exc))
    return gr.update(choices=scenario_names(), value=name if name in scenario_names() else None)


def remove(name: str):
    try:
        scenarios.delete(name)
        gr.Info(f"Scenario {name} deleted.")
    except scenarios.ScenarioNotFound as exc:
        gr.Warning(str(exc))
    return gr.update(choices=scenario_names(), value=None)


def run(name: str, request: gr.Request) -> str:
    try:
        return scenarios.submit_run(name, current_user(request).name)["id"]
    except scenarios.ScenarioNotFound:
        gr.Warning("Save the scenario first, then run it.")
        return ""


def runs():
    jobs, _ = store.list_jobs(kind="monitor.scenario", limit=20)
    return pd.DataFrame([[j["id"], j["params"].get("name"), j["status"], j["owner"],
                          (j["outputs"].get("summary") or {}).get("rss_mb", {}).get("max"),
                          j["error"] or j["message"]] for j in jobs],
                        columns=["job", "scenario", "status", "owner", "peak MB", "message"])


def live(job_id: str):
    samples = store.job_samples(job_id.strip()) if job_id and job_id.strip() else []
    frame = pd.DataFrame(samples or [], columns=["t", "cpu_percent", "rss_mb", "gpu_mem_mb", "gpu_util"])
    frame["time"] = pd.to_datetime(frame["t"], unit="s")
    return frame, frame


def build() -> None:
    with gr.Row():
        with gr.Column(scale=3):
            picker = gr.Dropdown(scenario_names(), label="Saved scenarios", allow_custom_value=False,
                                 elem_id="scenario-picker")
            name = gr.Textbox(label="Name", placeholder="e.g. cold_start_login", elem_id="scenario-name")
            code = gr.Code(EXAMPLE, language="python", label="Scenario script", lines=14, elem_id="scenario-code")
        with gr.Column(scale=2):
            language = gr.Radio(["python", "bash"], value="python", label="Language")
            metrics = gr.CheckboxGroup(list(METRICS), value=["cpu_percent", "rss_mb", "threads"],
                                       label="Metrics to sample", info="; ".join(f"{k}: {v}" for k, v in METRICS.items()))
            with gr.Row():
                interval = gr.Number(0.5, label="Interval (s)", minimum=0.05, maximum=60)
                timeout = gr.Number(600, label="Timeout (s)", minimum=1)
            target = gr.Textbox(label="Also watch processes named", placeholder="optional, e.g. chrome")
            with gr.Row():
                save_btn = gr.Button("Save", elem_id="scenario-save")
                delete_btn = gr.Button("Delete", variant="stop")
                run_btn = gr.Button("Run", variant="primary", elem_id="scenario-run")
    panel = job_panel("scenario", label="Scenario run")
    with gr.Row():
        cpu = gr.LinePlot(x="time", y="cpu_percent", title="Scenario CPU %", height=220)
        mem = gr.LinePlot(x="time", y="rss_mb", title="Scenario memory (MB)", height=220)
    table = gr.Dataframe(runs(), label="Recent scenario runs", interactive=False)

    fields = [name, code, language, metrics, interval, timeout, target]
    picker.change(load, picker, fields, api_name="scenario_get")
    save_btn.click(save, fields, picker, api_name="scenario_save")
    delete_btn.click(remove, name, picker, api_name="scenario_delete")
    run_btn.click(run, name, panel.job_id, api_name="scenario_run")
    gr.on([panel.timer.tick, panel.job_id.change], live, panel.job_id, [cpu, mem], api_visibility="private",
          show_progress="hidden", queue=False)
    gr.Timer(3).tick(runs, None, table, api_visibility="private", show_progress="hidden", queue=False)
