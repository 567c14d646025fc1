"""The project sidebar (create, select, delete; the generators set up) and the
Assets sub-tab (reference images and motion videos: upload or server path)."""

from __future__ import annotations

import html
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr

import jobs.tools.dance as dance
from jobs.tools.dance import backends
from jobs.tools.dance import records as rec
from pipelines import examples as example_media
from pipelines.errors import BadInput
from studio.examples import examples
from studio.tabs.dance.common import shown, user_of
from studio.tabs.dance.experiments import experiment_choices


def project_choices(request: gr.Request | None) -> list[tuple[str, str]]:
    return [(p["name"], p["id"]) for p in rec.list_projects(user_of(request))]


def refresh_projects(current: str | None, request: gr.Request):
    choices = project_choices(request)
    ids = [value for _, value in choices]
    value = current if current in ids else (ids[0] if ids else None)
    if value is None and current is None:  # nothing to pick, nothing picked: left alone
        return gr.update(choices=choices)  # (None again would fire the change cascade)
    return gr.update(choices=choices, value=value)


def create_project(name: str, description: str, request: gr.Request):
    with shown():
        project = rec.create_project(user_of(request), name, description or None)
    return gr.update(choices=project_choices(request), value=project["id"]), "", ""


def delete_project(project_id: str | None, request: gr.Request):
    with shown():
        if not project_id:
            raise BadInput("Select a project first.")
        rec.delete_project(user_of(request), project_id)
    choices = project_choices(request)
    return gr.update(choices=choices, value=choices[0][1] if choices else None)


def models_markdown() -> str:
    info = backends.models_info()
    lines = [f"**Models folder**: `{info['models_dir']}`"]
    for name, b in info["backends"].items():
        mark = "✅" if b["available"] else "—"
        lines.append(
            f"- {mark} **{name}**"
            + ("" if b["available"] else f": {html.escape(b['problem'] or '')}")
        )
    return "\n".join(lines)


def asset_lists(project_id: str | None, request: gr.Request | None):
    if not project_id:
        return [], [], gr.update(choices=[], value=None)
    user = user_of(request)
    refs = rec.list_assets("ref", user, project_id)
    motions = rec.list_assets("motion", user, project_id)
    gallery_refs = [(r["image_path"], r["name"]) for r in refs if Path(r["image_path"]).is_file()]
    gallery_motions = [
        (m["video_path"], m["name"]) for m in motions if Path(m["video_path"]).is_file()
    ]
    choices = [(f"reference · {r['name']}", f"ref:{r['id']}") for r in refs] + [
        (f"motion · {m['name']}", f"motion:{m['id']}") for m in motions
    ]
    return gallery_refs, gallery_motions, gr.update(choices=choices, value=None)


def file_path(upload: Any) -> Path | None:
    if not upload:
        return None
    return Path(getattr(upload, "name", upload))


def add_reference(
    project_id: str | None, upload: Any, server: str, name: str, prompt: str, request: gr.Request
):
    with shown():
        if not project_id:
            raise BadInput("Select or create a project first.")
        source = file_path(upload) or (
            dance.server_path(server) if (server or "").strip() else None
        )
        if source is None or not source.is_file():
            raise BadInput("Upload an image or give a server path to one.")
        meta = {"prompt": prompt.strip()} if (prompt or "").strip() else None
        asset = dance.add_reference(
            user_of(request), project_id, (name or "").strip() or source.stem, source, meta
        )
    return (
        *asset_lists(project_id, request),
        f"Added reference **{html.escape(asset['name'])}**.",
        None,
        "",
        "",
        "",
        *experiment_choices(project_id, request),
    )


def add_motion(project_id: str | None, upload: Any, server: str, name: str, request: gr.Request):
    with shown():
        if not project_id:
            raise BadInput("Select or create a project first.")
        source = file_path(upload) or (
            dance.server_path(server) if (server or "").strip() else None
        )
        if source is None or not source.is_file():
            raise BadInput("Upload a video or give a server path to one.")
        asset = dance.add_motion(
            user_of(request), project_id, (name or "").strip() or source.stem, source
        )
    info = asset.get("info") or {}
    return (
        *asset_lists(project_id, request),
        f"Added motion **{html.escape(asset['name'])}** ({info.get('frames', '?')} frames, "
        f"{info.get('fps', '?')} fps).",
        None,
        "",
        "",
        *experiment_choices(project_id, request),
    )


def delete_asset(project_id: str | None, choice: str | None, request: gr.Request):
    with shown():
        if not project_id or not choice:
            raise BadInput("Select the asset to delete.")
        kind, asset_id = choice.split(":", 1)
        rec.delete_asset(kind, user_of(request), project_id, asset_id)
    return (
        *asset_lists(project_id, request),
        "Deleted.",
        *experiment_choices(project_id, request),
    )


def initial(current: str | None, request: gr.Request):
    return refresh_projects(current, request), models_markdown()


def sidebar() -> SimpleNamespace:
    with gr.Column(scale=1, min_width=260, elem_id="dance-sidebar"):
        gr.Markdown("### Projects")
        project = gr.Dropdown(
            label="Project", choices=[], elem_id="dance-project", interactive=True
        )
        refresh = gr.Button("↻ Refresh", size="sm", elem_id="dance-refresh")
        with gr.Accordion("New project", open=True):
            new_name = gr.Textbox(
                label="Name", max_length=rec.NAME_MAX, elem_id="dance-new-project-name"
            )
            new_desc = gr.Textbox(label="Description", lines=2, max_length=rec.TEXT_MAX)
            create = gr.Button("Create project", variant="primary", elem_id="dance-create-project")
        delete = gr.Button(
            "Delete project", variant="stop", size="sm", elem_id="dance-delete-project"
        )
        gr.Markdown("### Generators")
        models = gr.Markdown(elem_id="dance-models")
    return SimpleNamespace(
        project=project,
        refresh=refresh,
        new_name=new_name,
        new_desc=new_desc,
        create=create,
        delete=delete,
        models=models,
    )


def _example(home: Path) -> tuple[str, Path, str, str, Path, str]:
    reference, motion = example_media.dance(home)
    return ("dance example", reference, "astronaut", "an astronaut dancing", motion, "walk")


def assets_layout(new_project: gr.Textbox) -> SimpleNamespace:
    """The assets sub-tab; its example also names a new project (``new_project``)."""
    with gr.Row():
        with gr.Column():
            gr.Markdown("**References** — a photo of the person to animate")
            refs = gr.Gallery(label="References", columns=4, height=240, elem_id="dance-refs")
            ref_file = gr.File(
                label="Upload an image", file_types=["image"], elem_id="dance-ref-file"
            )
            ref_server = gr.Textbox(label="…or a server path", max_length=4096)
            ref_name = gr.Textbox(label="Name", max_length=rec.NAME_MAX, elem_id="dance-ref-name")
            ref_prompt = gr.Textbox(
                label="Prompt (meta.prompt)",
                max_length=rec.TEXT_MAX,
                placeholder="a dancer in a red dress",
            )
            add_ref = gr.Button("Add reference", elem_id="dance-add-ref")
        with gr.Column():
            gr.Markdown("**Motions** — a driving dance video")
            motions = gr.Gallery(label="Motions", columns=3, height=240, elem_id="dance-motions")
            motion_file = gr.File(
                label="Upload a video", file_types=["video"], elem_id="dance-motion-file"
            )
            motion_server = gr.Textbox(label="…or a server path", max_length=4096)
            motion_name = gr.Textbox(
                label="Name", max_length=rec.NAME_MAX, elem_id="dance-motion-name"
            )
            add_motion = gr.Button("Add motion", elem_id="dance-add-motion")
    examples(
        [new_project, ref_file, ref_name, ref_prompt, motion_file, motion_name],
        _example,
        label="Example: a reference photo and a short driving dance "
        "(click, then Create project, Add reference, Add motion)",
        elem_id="dance-examples",
        headers=["New project", "Reference", "Reference name", "Prompt", "Motion", "Motion name"],
    )
    message = gr.Markdown(elem_id="dance-asset-msg")
    with gr.Row():
        pick = gr.Dropdown(label="Asset", choices=[], scale=3)
        delete = gr.Button("Delete asset", variant="stop", size="sm", scale=1)
    return SimpleNamespace(
        refs=refs,
        ref_file=ref_file,
        ref_server=ref_server,
        ref_name=ref_name,
        ref_prompt=ref_prompt,
        add_ref=add_ref,
        motions=motions,
        motion_file=motion_file,
        motion_server=motion_server,
        motion_name=motion_name,
        add_motion=add_motion,
        message=message,
        pick=pick,
        delete=delete,
    )
