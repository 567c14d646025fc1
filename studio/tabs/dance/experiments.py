"""The Experiments sub-tab: reference + motion + config (the form comes from
``DanceConfig``), the experiments of the project, the preprocessing state and
the pose preview."""

from __future__ import annotations

import html
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

EXPERIMENT_COLUMNS = [
    "name",
    "reference",
    "motion",
    "preprocessing",
    "frames",
    "no person",
    "size",
    "seed",
    "id",
]


def experiment_choices(project_id: str | None, request: gr.Request | None):
    """Choices for the experiment form's reference and motion dropdowns."""
    if not project_id:
        return gr.update(choices=[], value=None), gr.update(choices=[], value=None)
    user = user_of(request)
    refs = [(r["name"], r["id"]) for r in rec.list_assets("ref", user, project_id)]
    motions = [(m["name"], m["id"]) for m in rec.list_assets("motion", user, project_id)]
    return (
        gr.update(choices=refs, value=refs[0][1] if refs else None),
        gr.update(choices=motions, value=motions[0][1] if motions else None),
    )


def experiments_table(project_id: str | None, request: gr.Request | None) -> pd.DataFrame:
    rows = []
    if project_id:
        user = user_of(request)
        names = {
            a["id"]: a["name"]
            for kind in ("ref", "motion")
            for a in rec.list_assets(kind, user, project_id)
        }
        for e in rec.list_experiments(user, project_id):
            view = dance.experiment_view(e)
            pre = view["preprocess"]
            result = pre.get("result") or {}
            state = pre["state"] or "—"
            if state in ("PENDING", "STARTED"):
                state += f" {pre['percent']}%"
            rows.append(
                [
                    e["name"],
                    names.get(e["reference_id"], "—" if not e["source_input_dir"] else "folder"),
                    names.get(e["motion_id"], "—" if not e["source_input_dir"] else "folder"),
                    state,
                    result.get("frames", ""),
                    result.get("frames_without_person", ""),
                    (e["config"] or {}).get("size"),
                    (e["config"] or {}).get("base_seed"),
                    e["id"],
                ]
            )
    return pd.DataFrame(rows, columns=EXPERIMENT_COLUMNS)


def experiment_dropdown(
    project_id: str | None, request: gr.Request | None, value: str | None = None
):
    if not project_id:
        return gr.update(choices=[], value=None)
    choices = [(e["name"], e["id"]) for e in rec.list_experiments(user_of(request), project_id)]
    ids = [c[1] for c in choices]
    return gr.update(choices=choices, value=value if value in ids else (ids[0] if ids else None))


def create_experiment(
    project_id: str | None,
    name: str,
    description: str,
    reference_id: str | None,
    motion_id: str | None,
    source_dir: str,
    request: gr.Request,
    *config_values: Any,
):
    with shown():
        if not project_id:
            raise BadInput("Select or create a project first.")
        view = dance.create_experiment(
            user_of(request),
            project_id,
            name,
            description or None,
            None if (source_dir or "").strip() else reference_id,
            None if (source_dir or "").strip() else motion_id,
            source_dir or None,
            config_from_controls(list(config_values)),
        )
    drop = experiment_dropdown(project_id, request, view["id"])
    return (
        f"Experiment **{html.escape(view['name'])}** created; its input folder is being prepared "
        f"(job `{view['preprocess']['job_id']}`).",
        experiments_table(project_id, request),
        drop,
        drop,
        view["preprocess"]["job_id"],
    )


def show_experiment(project_id: str | None, experiment_id: str | None, request: gr.Request):
    if not project_id or not experiment_id:
        return "Select an experiment.", None
    with shown():
        view = dance.experiment_view(
            rec.get_experiment(user_of(request), project_id, experiment_id)
        )
    pre = view["preprocess"]
    result = pre.get("result") or {}
    lines = [
        f"**{html.escape(view['name'])}** — preprocessing **{pre['state']}**"
        + (
            f" ({pre['stage']}, {pre['percent']}%)"
            if pre["state"] in ("PENDING", "STARTED")
            else ""
        )
    ]
    if pre.get("error"):
        lines.append(f"⚠️ {html.escape(pre['error'])}")
    if result:
        lines.append(
            f"{result.get('frames')} pose frames"
            + (f", {result['width']}×{result['height']}" if result.get("width") else "")
            + (
                f", {result.get('frames_without_person')} without a person"
                if result.get("frames_without_person")
                else ""
            )
        )
        lines += [f"- {html.escape(w)}" for w in result.get("warnings", [])]
    lines.append(f"Input folder: `{view['input_dir']}`")
    lines.append(f"Config: `{view['config']}`")
    return "\n\n".join(lines), view["preview_path"]


def preprocess_again(project_id: str | None, experiment_id: str | None, request: gr.Request):
    with shown():
        if not project_id or not experiment_id:
            raise BadInput("Select an experiment.")
        view = dance.rerun_preprocess(user_of(request), project_id, experiment_id)
    return view["preprocess"]["job_id"], experiments_table(project_id, request)


def delete_experiment(project_id: str | None, experiment_id: str | None, request: gr.Request):
    with shown():
        if not project_id or not experiment_id:
            raise BadInput("Select an experiment.")
        rec.delete_experiment(user_of(request), project_id, experiment_id)
    drop = experiment_dropdown(project_id, request)
    return experiments_table(project_id, request), drop, drop


def open_experiments(
    project_id: str | None,
    ref_id: str | None,
    motion_id: str | None,
    experiment_id: str | None,
    request: gr.Request,
):
    refs, motions = experiment_choices(project_id, request)
    return (
        keep(refs, ref_id),
        keep(motions, motion_id),
        experiments_table(project_id, request),
        experiment_dropdown(project_id, request, experiment_id),
    )


def layout() -> SimpleNamespace:
    with gr.Row():
        name = gr.Textbox(
            label="Experiment name", max_length=rec.NAME_MAX, elem_id="dance-exp-name"
        )
        ref = gr.Dropdown(label="Reference", choices=[], elem_id="dance-exp-ref")
        motion = gr.Dropdown(label="Motion", choices=[], elem_id="dance-exp-motion")
    description = gr.Textbox(label="Description", max_length=rec.TEXT_MAX)
    source = gr.Textbox(
        label="…or a prepared pair folder on the server (source_input_dir)", max_length=4096
    )
    with gr.Accordion("Config (seed 004's defaults)", open=False):
        with gr.Row():
            config = [config_input(field, True) for field in CONFIG_FIELDS[:6]]
        with gr.Row():
            config += [config_input(field, True) for field in CONFIG_FIELDS[6:]]
    create = gr.Button(
        "Create experiment and prepare poses", variant="primary", elem_id="dance-create-experiment"
    )
    message = gr.Markdown(elem_id="dance-exp-msg")
    table = gr.Dataframe(
        headers=EXPERIMENT_COLUMNS,
        interactive=False,
        wrap=True,
        column_widths=["14%", "12%", "12%", "15%", "8%", "11%", "10%", "8%", "10%"],
        elem_id="dance-exp-table",
    )
    with gr.Row():
        pick = gr.Dropdown(label="Experiment", choices=[], elem_id="dance-exp-pick", scale=3)
        refresh = gr.Button("↻ Refresh", size="sm", scale=1, elem_id="dance-exp-refresh")
        again = gr.Button("Prepare again", size="sm", scale=1)
        delete = gr.Button("Delete experiment", variant="stop", size="sm", scale=1)
    with gr.Row():
        status = gr.Markdown(elem_id="dance-exp-status")
        preview = gr.Video(
            label="Pose preview: detected | aligned to the reference",
            interactive=False,
            loop=True,
            elem_id="dance-preview",
        )
    return SimpleNamespace(
        name=name,
        ref=ref,
        motion=motion,
        description=description,
        source=source,
        config=config,
        create=create,
        message=message,
        table=table,
        pick=pick,
        refresh=refresh,
        again=again,
        delete=delete,
        status=status,
        preview=preview,
    )
