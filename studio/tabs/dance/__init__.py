"""Dance generation tab (seed 004): reference image + driving dance video →
an animated video of the reference person, organised as projects, assets,
experiments and jobs.

Left, the project sidebar (create, select, delete) and which generators are set
up (:mod:`.projects`). Right, in the order a user works:

- **Assets** (:mod:`.projects`): reference images and motion videos of the
  project, added by upload or from a server path (STUDIO_ALLOWED_ROOTS);
- **Experiments** (:mod:`.experiments`): reference + motion + config (the form
  is built from ``pipelines.dance.config.DanceConfig``: seed 004's fields and
  defaults). Creating one queues its preprocessing (CPU lane); the pose
  preview (the detected skeleton over the driving video | the skeleton aligned
  to the reference) shows before any GPU time is spent;
- **Jobs** (:mod:`.generation`): run an experiment with its config or overrides,
  several seeds at once; the job list, the result player and the download;
- **Compare** (:mod:`.generation`): finished jobs side by side as synchronised
  players (same motion, different references, configs or seeds).

The job panel below follows the last job submitted (progress, log, cancel,
retry); it is the tab's only poller: lists refresh when a sub-tab is opened,
after an action, or with ↻. Nothing here runs a pipeline: events write records
and submit jobs. Every event has an API name starting with ``dance_``.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio.job_panel import job_panel
from studio.page_load import page_load
from studio.tabs.dance import experiments, generation, projects
from studio.tabs.dance.common import pick_row

CSS = (Path(__file__).parent / "static" / "dance.css").read_text(encoding="utf-8")


def build() -> None:
    with gr.Row():
        side = projects.sidebar()
        with gr.Column(scale=4):
            with gr.Tabs():
                with gr.Tab("Assets", elem_id="dance-assets") as assets_tab:
                    assets = projects.assets_layout(side.new_name)
                with gr.Tab("Experiments", elem_id="dance-experiments") as experiments_tab:
                    exp = experiments.layout()
                with gr.Tab("Jobs", elem_id="dance-jobs") as jobs_tab:
                    run = generation.jobs_layout()
                with gr.Tab("Compare", elem_id="dance-compare-tab") as compare_tab:
                    cmp = generation.compare_layout()
            panel = job_panel("dance")
    project = side.project

    page_load.add(projects.initial, project, [project, side.models])

    # sidebar
    side.refresh.click(projects.refresh_projects, project, project, api_name="dance_projects")
    side.refresh.click(projects.models_markdown, None, side.models, api_name="dance_models_info")
    side.create.click(
        projects.create_project,
        [side.new_name, side.new_desc],
        [project, side.new_name, side.new_desc],
        api_name="dance_create_project",
    )
    side.delete.click(projects.delete_project, project, project, api_name="dance_delete_project")

    def select_project(project_id: str | None, request: gr.Request):
        refs, motions, pick = projects.asset_lists(project_id, request)
        ref, motion = experiments.experiment_choices(project_id, request)
        chosen = experiments.experiment_dropdown(project_id, request)
        return (
            refs,
            motions,
            pick,
            ref,
            motion,
            experiments.experiments_table(project_id, request),
            chosen,
            chosen,
            generation.jobs_table(project_id, request),
            generation.job_choices(project_id, request),
            generation.job_choices(project_id, request, finished_only=True),
        )

    project.change(
        select_project,
        project,
        [
            assets.refs,
            assets.motions,
            assets.pick,
            exp.ref,
            exp.motion,
            exp.table,
            exp.pick,
            run.experiment,
            run.table,
            run.pick,
            cmp.pick,
        ],
        api_name="dance_select_project",
    )

    # each sub-tab reads its lists again when it is opened (tabs render lazily)
    assets_tab.select(
        projects.asset_lists,
        project,
        [assets.refs, assets.motions, assets.pick],
        api_name="dance_open_assets",
    )
    experiments_tab.select(
        experiments.open_experiments,
        [project, exp.ref, exp.motion, exp.pick],
        [exp.ref, exp.motion, exp.table, exp.pick],
        api_name="dance_open_experiments",
    )
    jobs_tab.select(
        generation.open_jobs,
        [project, run.experiment, run.pick],
        [run.experiment, run.table, run.pick],
        api_name="dance_open_jobs",
    )
    compare_tab.select(
        generation.open_compare, [project, cmp.pick], cmp.pick, api_name="dance_open_compare"
    )

    # assets
    lists = [assets.refs, assets.motions, assets.pick, assets.message]
    assets.add_ref.click(
        projects.add_reference,
        [project, assets.ref_file, assets.ref_server, assets.ref_name, assets.ref_prompt],
        [
            *lists,
            assets.ref_file,
            assets.ref_server,
            assets.ref_name,
            assets.ref_prompt,
            exp.ref,
            exp.motion,
        ],
        api_name="dance_add_reference",
    )
    assets.add_motion.click(
        projects.add_motion,
        [project, assets.motion_file, assets.motion_server, assets.motion_name],
        [*lists, assets.motion_file, assets.motion_server, assets.motion_name, exp.ref, exp.motion],
        api_name="dance_add_motion",
    )
    assets.delete.click(
        projects.delete_asset,
        [project, assets.pick],
        [*lists, exp.ref, exp.motion],
        api_name="dance_delete_asset",
    )

    # experiments
    exp.create.click(
        experiments.create_experiment,
        [project, exp.name, exp.description, exp.ref, exp.motion, exp.source, *exp.config],
        [exp.message, exp.table, exp.pick, run.experiment, panel.job_id],
        api_name="dance_create_experiment",
    )
    exp.refresh.click(
        experiments.experiments_table, project, exp.table, api_name="dance_experiments"
    )
    exp.refresh.click(
        experiments.show_experiment,
        [project, exp.pick],
        [exp.status, exp.preview],
        api_name="dance_experiment_refresh",
    )
    exp.table.select(pick_row, exp.table, exp.pick, api_name="dance_pick_experiment")
    exp.pick.change(
        experiments.show_experiment,
        [project, exp.pick],
        [exp.status, exp.preview],
        api_name="dance_experiment",
    )
    exp.again.click(
        experiments.preprocess_again,
        [project, exp.pick],
        [panel.job_id, exp.table],
        api_name="dance_preprocess",
    )
    exp.delete.click(
        experiments.delete_experiment,
        [project, exp.pick],
        [exp.table, exp.pick, run.experiment],
        api_name="dance_delete_experiment",
    )

    # jobs
    run.run.click(
        generation.run_jobs,
        [project, run.experiment, run.seeds, run.prompt, *run.overrides],
        [run.message, panel.job_id, run.table, run.pick],
        api_name="dance_run",
    )
    run.refresh.click(generation.jobs_table, project, run.table, api_name="dance_jobs")
    run.refresh.click(
        generation.refresh_job_choices, project, [run.pick, cmp.pick], api_name="dance_job_choices"
    )
    run.table.select(pick_row, run.table, run.pick, api_name="dance_pick_job")
    run.pick.change(
        generation.show_job,
        [project, run.pick],
        [run.player, run.download, run.state, run.output, panel.job_id],
        api_name="dance_job",
    )
    run.delete.click(
        generation.delete_job,
        [project, run.pick],
        [run.table, run.pick, run.player, run.download, run.state, run.output],
        api_name="dance_delete_job",
    )

    # compare
    cmp.compare.click(
        generation.compare_html,
        [project, cmp.pick, cmp.columns],
        cmp.grid,
        api_name="dance_compare",
    )
