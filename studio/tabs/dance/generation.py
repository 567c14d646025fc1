"""The Jobs sub-tab (run an experiment, several seeds at once, with its config
or overrides; the job list, the result player, the download) and the Compare
sub-tab (finished jobs as synchronised players)."""

from __future__ import annotations

import html
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pandas as pd

import jobs.tools.dance as dance
from jobs.tools.dance import records as rec
from pipelines.errors import BadInput
from studio.tabs.dance.common import (
    CONFIG_FIELDS,
    config_from_controls,
    config_input,
    keep,
    shown,
    user_of,
)
from studio.tabs.dance.experiments import experiment_dropdown

JOB_COLUMNS = ["created", "experiment", "backend", "seed", "state", "progress", "video", "id"]
SYNC_JS = (Path(__file__).parent / "static" / "compare.js").read_text(encoding="utf-8")


def parse_seeds(text: str) -> list[int | None]:
    parts = [p.strip() for p in (text or "").replace(";", ",").split(",") if p.strip()]
    try:
        seeds = [int(p) for p in parts]
    except ValueError:
        raise BadInput("Seeds: whole numbers separated by commas, e.g. 1, 2, 3.") from None
    if len(seeds) > dance.SEEDS_MAX:
        raise BadInput(f"At most {dance.SEEDS_MAX} seeds at once.")
    return list(seeds) or [None]


def run_jobs(
    project_id: str | None,
    experiment_id: str | None,
    seeds: str,
    prompt: str,
    request: gr.Request,
    *override_values: Any,
):
    with shown():
        if not project_id or not experiment_id:
            raise BadInput("Select an experiment to run.")
        overrides = config_from_controls(list(override_values))
        several = [seed for seed in parse_seeds(seeds) if seed is not None]
        if several:  # the seeds box wins over the config's base_seed
            overrides.pop("base_seed", None)
        body = {
            **overrides,
            **({"base_seeds": several} if several else {}),
            "prompt_override": (prompt or "").strip() or None,
        }
        created = dance.submit_generations(user_of(request), project_id, experiment_id, body)
    message = f"Queued {len(created)} job(s): " + ", ".join(f"`{c['job_id'][:8]}`" for c in created)
    return (
        message,
        created[0]["task_id"],
        jobs_table(project_id, request),
        job_choices(project_id, request),
    )


def short_time(iso: str | None) -> str:
    return (iso or "")[5:19].replace("T", " ")


def jobs_table(project_id: str | None, request: gr.Request | None) -> pd.DataFrame:
    rows = []
    if project_id:
        user = user_of(request)
        names = {e["id"]: e["name"] for e in rec.list_experiments(user, project_id)}
        for row in rec.list_generation_jobs(user, project_id):
            s = dance.job_summary_view(row)
            rows.append(
                [
                    short_time(s["created_at"]),
                    names.get(s["experiment_id"] or "", "—"),
                    s["backend"],
                    s["base_seed"],
                    s["status"],
                    f"{s['percent']}%",
                    Path(s["result_video_path"]).name if s["result_video_path"] else "",
                    s["id"],
                ]
            )
    return pd.DataFrame(rows, columns=JOB_COLUMNS)


def job_label(summary: dict, names: dict) -> str:
    return (
        f"{names.get(summary['experiment_id'] or '', 'folder')} · seed {summary['base_seed']} · "
        f"{summary['backend']} · {summary['status']} · {summary['id'][:8]}"
    )


def job_choices(project_id: str | None, request: gr.Request | None, finished_only: bool = False):
    if not project_id:
        return gr.update(choices=[], value=None)
    user = user_of(request)
    names = {e["id"]: e["name"] for e in rec.list_experiments(user, project_id)}
    summaries = [dance.job_summary_view(r) for r in rec.list_generation_jobs(user, project_id)]
    if finished_only:
        summaries = [s for s in summaries if s["status"] == "SUCCESS"]
    return gr.update(choices=[(job_label(s, names), s["id"]) for s in summaries], value=None)


def refresh_job_choices(project_id: str | None, request: gr.Request):
    return job_choices(project_id, request), job_choices(project_id, request, finished_only=True)


def show_job(project_id: str | None, job_id: str | None, request: gr.Request):
    if not project_id or not job_id:
        return None, None, "", "", gr.update()
    with shown():
        view = dance.job_status_view(rec.get_generation_job(user_of(request), project_id, job_id))
    result = view["result"] or {}
    video = view["result_video_path"] if view["state"] == "SUCCESS" else None
    text = (
        f"**{view['state']}** · {view['backend']} · stage {view['stage'] or '—'} {view['percent']}%"
        + (f"\n\n⚠️ {html.escape(view['error'])}" if view.get("error") else "")
    )
    out = (
        (
            "return code: "
            + str(result.get("return_code"))
            + "\n--- stdout ---\n"
            + (result.get("stdout") or "")[-4000:]
            + "\n--- stderr ---\n"
            + (result.get("stderr") or "")[-4000:]
        )
        if result
        else ""
    )
    return video, video, text, out, view["task_id"]


def delete_job(project_id: str | None, job_id: str | None, request: gr.Request):
    with shown():
        if not project_id or not job_id:
            raise BadInput("Select a job.")
        dance.delete_generation(user_of(request), project_id, job_id)
    return jobs_table(project_id, request), job_choices(project_id, request), None, None, "", ""


def compare_html(
    project_id: str | None, job_ids: list[str] | None, columns: float, request: gr.Request
) -> str:
    if not project_id or not job_ids:
        return "<div class='dance-compare-empty'>Pick finished jobs to compare.</div>"
    user = user_of(request)
    names = {e["id"]: e["name"] for e in rec.list_experiments(user, project_id)}
    cells = []
    with shown():
        for job_id in job_ids[:16]:
            row = rec.get_generation_job(user, project_id, job_id)
            view = dance.job_status_view(row)
            if view["state"] != "SUCCESS" or not view["result_video_path"]:
                continue
            config = (row.get("params") or {}).get("config") or {}
            caption = (
                f"{names.get(row['experiment_id'] or '', 'folder')} · seed {config.get('base_seed')} · "
                f"cfg {config.get('sample_guide_scale')} · {row['backend']}"
            )
            # the owner-checked download route (the UI's login cookie is accepted for reads)
            src = html.escape(
                f"/api/v1/dance/projects/{project_id}/steadydancer/jobs/{job_id}/download",
                quote=True,
            )
            cells.append(
                f"<figure><video class='dance-sync' src='{src}' muted loop playsinline preload='auto' "
                f"controls data-job='{html.escape(job_id)}'></video><figcaption>{html.escape(caption)}"
                "</figcaption></figure>"
            )
    if not cells:
        return "<div class='dance-compare-empty'>None of these jobs has a video yet.</div>"
    n = max(1, min(int(columns or 2), 6))
    bar = (
        "<div class='dance-compare-bar'><button data-dance='play'>▶ Play all</button>"
        "<button data-dance='pause'>⏸ Pause</button><button data-dance='restart'>⏮ Start</button></div>"
    )
    return (
        f"{bar}<div class='dance-compare' style='grid-template-columns: repeat({n}, 1fr)'>"
        + "".join(cells)
        + "</div>"
    )


def open_jobs(
    project_id: str | None, experiment_id: str | None, job_id: str | None, request: gr.Request
):
    return (
        experiment_dropdown(project_id, request, experiment_id),
        jobs_table(project_id, request),
        keep(job_choices(project_id, request), job_id),
    )


def open_compare(project_id: str | None, picked: list[str] | None, request: gr.Request):
    return keep(job_choices(project_id, request, finished_only=True), picked, multiselect=True)


def jobs_layout() -> SimpleNamespace:
    with gr.Row():
        experiment = gr.Dropdown(label="Experiment", choices=[], elem_id="dance-run-exp", scale=3)
        seeds = gr.Textbox(
            label="Seeds (one job each; empty: the experiment's)",
            placeholder="106060, 1, 2",
            max_length=200,
            scale=2,
            elem_id="dance-seeds",
        )
    prompt = gr.Textbox(
        label="Prompt override (empty: the folder's prompt.txt)", max_length=rec.TEXT_MAX
    )
    with gr.Accordion("Override the experiment's config", open=False):
        with gr.Row():
            overrides = [config_input(field, False) for field in CONFIG_FIELDS[:6]]
        with gr.Row():
            overrides += [config_input(field, False) for field in CONFIG_FIELDS[6:]]
    run = gr.Button("Generate", variant="primary", elem_id="dance-run")
    message = gr.Markdown(elem_id="dance-run-msg")
    table = gr.Dataframe(
        headers=JOB_COLUMNS,
        interactive=False,
        wrap=True,
        column_widths=["14%", "19%", "12%", "8%", "10%", "10%", "17%", "10%"],
        elem_id="dance-job-table",
    )
    with gr.Row():
        pick = gr.Dropdown(label="Job", choices=[], elem_id="dance-job-pick", scale=3)
        refresh = gr.Button("↻ Refresh", size="sm", scale=1, elem_id="dance-jobs-refresh")
        delete = gr.Button("Delete job", variant="stop", size="sm", scale=1)
    with gr.Row():
        player = gr.Video(label="Result", interactive=False, loop=True, elem_id="dance-player")
        with gr.Column():
            state = gr.Markdown(elem_id="dance-job-state")
            download = gr.File(label="Download", interactive=False, elem_id="dance-download")
    output = gr.Textbox(
        label="Generator output (stdout / stderr)", lines=8, max_lines=16, interactive=False
    )
    return SimpleNamespace(
        experiment=experiment,
        seeds=seeds,
        prompt=prompt,
        overrides=overrides,
        run=run,
        message=message,
        table=table,
        pick=pick,
        refresh=refresh,
        delete=delete,
        player=player,
        state=state,
        download=download,
        output=output,
    )


def compare_layout() -> SimpleNamespace:
    with gr.Row():
        pick = gr.Dropdown(
            label="Finished jobs",
            choices=[],
            multiselect=True,
            scale=4,
            elem_id="dance-compare-pick",
            max_choices=16,
        )
        columns = gr.Slider(1, 6, value=2, step=1, label="Columns", scale=1)
        compare = gr.Button("Compare", variant="primary", scale=1, elem_id="dance-compare")
    grid = gr.HTML(
        "<div class='dance-compare-empty'>Pick finished jobs to compare.</div>",
        js_on_load=SYNC_JS,
        elem_id="dance-grid",
    )
    return SimpleNamespace(pick=pick, columns=columns, compare=compare, grid=grid)
