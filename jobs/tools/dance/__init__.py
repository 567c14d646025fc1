"""Dance generation jobs (seed 004) and the actions behind the REST API and the tab.

Job kinds:

- ``dance.preprocess`` (CPU lane) {experiment_id}: the experiment's input folder
  ``experiments/{id}/input/`` — from the reference and the motion (MediaPipe
  poses aligned to the reference, negative poses, ``prompt.txt`` from the
  reference's ``meta.prompt``; ``pipelines.dance.prepare``) or copied from the
  experiment's ``source_input_dir`` — plus ``preview.mp4``. Written beside the
  old folder and swapped in when complete.
- ``dance.generate`` (GPU lane) {generation_job_id?, experiment_id?, input_dir?,
  copy_from?, snapshot_from?, fps?, output_dir?, config, backend, prompt_override?}:
  runs on its own input, ``jobs/{job_id}/input/``, a snapshot taken when the job
  was made (``jobs.tools.dance.snapshot``; a job made while its experiment was
  still being prepared, or a low-level task, takes it at its first run); waits
  for the experiment's preprocessing when it is still running (cancel works while
  waiting), then runs the backend — ``steadydancer`` (the official
  ``generate_dancer.py`` as a child process: output streamed into the log,
  sampling steps ``k/N`` as progress, cancel kills its process group) or
  ``wan-animate`` (diffusers, model kept loaded in the GPU worker) — and accepts
  the result only when the MP4 exists and decodes. ``result.json`` in the job's
  folder keeps ``success, video_path, stdout, stderr, return_code`` whatever the
  outcome; the video lands in ``projects/{pid}/jobs/{job_id}/output/``.

Every generation job of a project is a row of ``generation_jobs`` and a studio
job (its record, log, cancel and retry); the row's state is the studio job's
status in seed words (PENDING, STARTED, SUCCESS, FAILURE, REVOKED).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from jobs.inputs import server_path
from jobs.kinds import JobContext, job_kind
from jobs.registry import Model, Tab, Tool, register
from jobs.tools.dance import backends
from jobs.tools.dance import records as rec
from jobs.tools.dance.snapshot import snapshot
from jobs.tools.dance.submit import (
    GENERATE,
    PREPROCESS,
    SEEDS_MAX,
    add_motion,
    add_reference,
    cancel_generation,
    cancel_task,
    create_experiment,
    delete_generation,
    generation_task,
    pair_source,
    rerun_preprocess,
    retry_generation,
    submit_generation,
    submit_generations,
    submit_preprocess,
    task_log,
    task_status,
)
from jobs.tools.dance.views import (
    RESULT_FILE,
    asset_file,
    download_name,
    experiment_view,
    generation_ended,
    job_status_view,
    job_summary_view,
    motion_view,
    pair_folder,
    preview_path,
    project_view,
    read_result,
    reference_view,
    result_file,
    result_video,
    task_status_view,
    zip_chunks,
)
from pipelines.dance.config import DEFAULT_PROMPT, DanceConfig
from pipelines.errors import BadInput
from pipelines.progress import Cancelled

__all__ = [
    "GENERATE",
    "PREPROCESS",
    "RESULT_FILE",
    "SEEDS_MAX",
    "add_motion",
    "add_reference",
    "asset_file",
    "cancel_generation",
    "cancel_task",
    "create_experiment",
    "delete_generation",
    "download_name",
    "experiment_view",
    "generation_task",
    "job_status_view",
    "job_summary_view",
    "motion_view",
    "pair_folder",
    "pair_source",
    "preview_path",
    "project_view",
    "read_result",
    "reference_view",
    "rerun_preprocess",
    "result_file",
    "result_video",
    "retry_generation",
    "server_path",
    "submit_generation",
    "submit_generations",
    "submit_preprocess",
    "task_log",
    "task_status",
    "task_status_view",
    "zip_chunks",
]


class GenerationFailed(RuntimeError):
    """The generator ran and did not produce a video (the message says why)."""


@job_kind(PREPROCESS, lane="cpu", title="Dance preprocessing")
def preprocess(ctx: JobContext) -> dict:
    from pipelines.dance.prepare import copy_pair_dir, prepare_input

    experiment = rec.experiment_row(ctx.params["experiment_id"])
    folder = rec.experiment_dir(experiment["project_id"], experiment["id"])
    target = Path(experiment["input_dir"])
    staging = folder / f"input.partial-{ctx.id}"
    staged_preview = folder / f"preview.partial-{ctx.id}.mp4"
    shutil.rmtree(staging, ignore_errors=True)
    config = DanceConfig(**experiment["config"])
    try:
        if experiment["source_input_dir"]:
            source = pair_source(
                experiment["source_input_dir"]
            )  # checked again: roots may have changed
            info = copy_pair_dir(source, staging, preview=staged_preview, progress=ctx.progress)
            summary: dict[str, Any] = {"source": str(source), **info}
        else:
            if not (experiment["reference_id"] and experiment["motion_id"]):
                raise BadInput(
                    "The experiment's reference or motion was deleted; create a new experiment."
                )
            ref = rec._one("reference_assets", experiment["reference_id"])
            motion = rec._one("motion_assets", experiment["motion_id"])
            if ref is None or motion is None:
                raise BadInput(
                    "The experiment's reference or motion was deleted; create a new experiment."
                )
            prompt = (ref.get("meta") or {}).get("prompt")
            ctx.log(
                f"reference {ref['name']}, motion {motion['name']}, size {config.size}, "
                f"frame_num {config.frame_num}, stride {config.frame_stride}"
            )
            result = prepare_input(
                ref["image_path"],
                motion["video_path"],
                staging,
                config,
                prompt,
                progress=ctx.progress,
                preview=staged_preview,
            )
            summary = result.to_dict()
            for warning in result.warnings:
                ctx.log(f"warning: {warning}")
        old = folder / f"input.old-{ctx.id}"
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        if staged_preview.is_file():
            staged_preview.replace(preview_path(experiment))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        staged_preview.unlink(missing_ok=True)
        raise
    summary.update(input_dir=str(target), preview=str(preview_path(experiment)))
    rec.update_experiment(experiment["id"], preprocess=summary)
    ctx.log(f"input folder ready: {target}")
    return {
        "experiment_id": experiment["id"],
        "input_dir": str(target),
        "frames": summary.get("frames"),
        "frames_without_person": summary.get("frames_without_person", 0),
        "warnings": summary.get("warnings", []),
    }


def _write_result(ctx: JobContext, result: dict) -> None:
    path = ctx.dir / RESULT_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1, default=str))
    os.replace(tmp, path)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in re.split(r"[\r\n]", text or "") if ln.strip()]
    return lines[-1][:300] if lines else ""


def _run_steadydancer(
    ctx: JobContext, input_dir: Path, config: DanceConfig, prompt: str, video: Path, result: dict
) -> None:
    from pipelines.dance.steadydancer import OutputReader, build_argv, child_env

    setup = backends.steadydancer_setup()
    argv = build_argv(setup, input_dir, config, prompt, video)
    reader = OutputReader(ctx.progress)
    ctx.progress.update(stage="starting", fraction=0.0, item="generate_dancer.py")
    try:
        code = ctx.run_child(
            argv, cwd=setup.directory, env=child_env(config), on_output=reader.feed
        )
    finally:
        reader.finish()
        result.update(stdout=reader.text["stdout"], stderr=reader.text["stderr"], argv=argv)
    result["return_code"] = code
    if code != 0:
        raise GenerationFailed(
            f"SteadyDancer exited with code {code}: {_last_line(reader.text['stderr'])} "
            "(stdout and stderr are in the result and the job log)."
        )


def _run_wan_animate(
    ctx: JobContext,
    input_dir: Path,
    config: DanceConfig,
    prompt: str,
    video: Path,
    result: dict,
    fps: float,
) -> None:
    from pipelines.dance.wan_animate import generate, load_pipeline

    if backends.wan_animate_fetched_first():
        from jobs.models import declared_model, fetch

        fetch(declared_model("dance.wan_animate").model, ctx.progress)
    model = backends.wan_animate_model()
    if model is None:
        raise GenerationFailed(backends.wan_animate_problem() or "Wan-Animate is not set up.")
    device = None
    if config.cuda_visible_devices:
        import torch

        if torch.cuda.is_available():  # in a pinned lane its own GPU is cuda:0
            device = ctx.cuda_device(config.cuda_visible_devices)
    ctx.progress.update(stage="loading model", fraction=0.01, item=str(model))
    offload = bool(config.offload_model)
    pipe = ctx.model(
        f"wan-animate:{model}:{device}:offload={offload}",
        lambda: load_pipeline(model, device, offload),
    )
    info = generate(pipe, input_dir, config, prompt, video, fps=fps, progress=ctx.progress)
    result.update(
        return_code=0,
        stderr="",
        wan_animate=info,
        stdout=f"Wan-Animate ({model}): {info['frames']} frames {info['width']}×{info['height']}, "
        f"{info['steps']} steps, seed {info['seed']}, {info['seconds']} s",
    )


def generation_gpus(params: dict[str, Any]) -> int:
    """GPUs a generation leases on one machine: as many as its config's
    ``cuda_visible_devices`` names (SteadyDancer on several devices), else one. The
    child gets the leased devices in their place (``JobContext.run_child``)."""
    devices = str((params.get("config") or {}).get("cuda_visible_devices") or "")
    return max(1, len([d for d in devices.split(",") if d.strip()]))


@job_kind(
    GENERATE,
    lane="gpu",
    title="Dance generation",
    on_end=generation_ended,
    gpus=generation_gpus,
)
def generate(ctx: JobContext) -> dict:
    from pipelines.dance.prepare import check_pair_dir
    from pipelines.dance.video import check_video

    p = ctx.params
    row_id = p.get("generation_job_id")
    backend = p["backend"]
    config = DanceConfig(**p["config"])
    result: dict[str, Any] = {
        "success": False,
        "video_path": None,
        "stdout": "",
        "stderr": "",
        "return_code": None,
        "backend": backend,
        "config": config.model_dump(),
    }
    (ctx.dir / RESULT_FILE).unlink(missing_ok=True)
    if row_id:
        rec.update_generation_job(
            row_id,
            status="STARTED",
            success=None,
            result_video_path=None,
            error_message=None,
            finished_at=None,
        )
    try:
        fps = float(p.get("fps") or 16.0)
        if p.get("experiment_id") and not p.get("fps"):
            # submitted after the experiment's preprocessing job: it has succeeded
            experiment = rec.experiment_row(p["experiment_id"])
            fps = float((experiment.get("preprocess") or {}).get("fps") or fps)
        input_dir = Path(p["input_dir"]) if p.get("input_dir") else ctx.inputs / "pair"
        _take_snapshot(ctx, input_dir)
        frames = check_pair_dir(input_dir)["frames"]
        if frames < config.frame_num:
            raise BadInput(
                f"The input folder has {frames} pose frames; frame_num is {config.frame_num}."
            )
        prompt = p.get("prompt_override") or _read_prompt(input_dir)
        out_dir = Path(p["output_dir"]) if p.get("output_dir") else ctx.outputs
        out_dir.mkdir(parents=True, exist_ok=True)
        video = out_dir / "result.mp4"
        video.unlink(missing_ok=True)
        ctx.log(
            f"backend {backend}, input {input_dir}, seed {config.base_seed}, size {config.size}, "
            f"frame_num {config.frame_num}"
        )
        if backend == "steadydancer":
            _run_steadydancer(ctx, input_dir, config, prompt, video, result)
        else:
            _run_wan_animate(ctx, input_dir, config, prompt, video, result, fps)
        ctx.progress.update(stage="checking video", fraction=0.99)
        try:
            info = check_video(video)
        except BadInput as exc:
            raise GenerationFailed(f"The generator ended without a playable video: {exc}") from None
        result.update(success=True, video_path=str(video), video=info.to_dict())
        if out_dir != ctx.outputs:  # the Jobs tab lists the job's own outputs
            _link(video, ctx.outputs / "result.mp4")
    except Cancelled:
        result["error"] = "Cancelled by the user"
        _finish_row(ctx, row_id, result, "REVOKED")
        raise
    except Exception as exc:
        result["error"] = str(exc)
        if not result["stderr"]:
            result["stderr"] = str(exc)
        _finish_row(ctx, row_id, result, "FAILURE")
        raise
    _finish_row(ctx, row_id, result, "SUCCESS")
    ctx.log(f"video: {result['video_path']} ({result['video']['frames']} frames)")
    return {
        k: result.get(k) for k in ("success", "video_path", "return_code", "backend", "video")
    } | {"generation_job_id": row_id}


def _take_snapshot(ctx: JobContext, input_dir: Path) -> None:
    """The job's input, copied once: when the job was made (nothing to do here), or at
    its first run — a job made while its experiment was being prepared, a low-level
    task. A retry runs on the same copy."""
    p = ctx.params
    if input_dir.is_dir() or not (p.get("snapshot_from") or p.get("copy_from")):
        return
    ctx.progress.update(stage="copying input", fraction=0.0)
    if p.get("snapshot_from"):
        snapshot(Path(p["snapshot_from"]), input_dir, replaced_whole=True)
    else:  # checked again: the allowed roots may have changed
        snapshot(pair_source(p["copy_from"]), input_dir, replaced_whole=False)
    ctx.log(f"input copied to {input_dir}")


def _read_prompt(input_dir: Path) -> str:
    try:
        text = (input_dir / "prompt.txt").read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    return text or DEFAULT_PROMPT


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _finish_row(ctx: JobContext, row_id: str | None, result: dict, state: str) -> None:
    _write_result(ctx, result)
    if row_id and rec.generation_row(row_id) is not None:
        rec.update_generation_job(
            row_id,
            status=state,
            success=bool(result["success"]),
            result_video_path=result["video_path"] if result["success"] else None,
            error_message=result.get("error"),
            finished_at=rec.now_iso(),
        )


register(
    Tool(
        name="dance",
        title="Dance generation",
        kinds=(PREPROCESS, GENERATE),
        options="pipelines.dance.config:DanceConfig",
        settings=(
            "models_dir",
            "steadydancer_dir",
            "steadydancer_python",
            "steadydancer_ckpt_dir",
            "wan_animate_model",
            "allowed_roots",
        ),
        router="studio.api.dance:routes",
        prefix="/dance",  # seed 004's paths too
        tab=Tab("Dance generation", "tab-dance", "studio.tabs.dance:build", 40),
        models=(
            Model(
                "wan_animate",
                "Wan2.2-Animate-14B (diffusers)",
                "generator: wan-animate backend",
                hub_id=backends.WAN_ANIMATE_HUB_ID,
                folder=backends.WAN_ANIMATE_FOLDER,
                size=82_000_000_000,
                setting="STUDIO_WAN_ANIMATE_MODEL",
                marker="model_index.json",
            ),
            Model(
                "steadydancer_weights",
                "SteadyDancer-14B weights",
                "generator: steadydancer backend (its checkpoint folder)",
                hub_id=backends.STEADYDANCER_HUB_ID,
                folder=backends.STEADYDANCER_FOLDER,
                size=41_000_000_000,
                setting="STEADYDANCER_CKPT_DIR",
                marker="",
            ),
            Model(
                "steadydancer_code",
                "SteadyDancer code",
                "generator: steadydancer backend (generate_dancer.py, in its own environment)",
                setting="STEADYDANCER_DIR",
                marker="generate_dancer.py",
                how="git clone https://github.com/MCG-NJU/SteadyDancer, install its requirements "
                "(CUDA, flash-attn) in its own environment, then set STEADYDANCER_DIR (and "
                "STEADYDANCER_PYTHON)",
            ),
        ),
    )
)
