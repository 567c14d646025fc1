"""Scenario runs (seed 001's monitoring request): run a saved scenario script
while sampling its process tree; the samples feed the live charts.

A scenario script is code run by the worker, so it is for admins only and off
in an open studio (``scenarios.check_scripts_allowed``); the run checks that
again when it starts, in case the setting changed while it was queued. The
script gets its own working folder (``work/`` in the job folder), a clean
environment and the limits of the run (``pipelines.monitor.scenario``).
"""

from __future__ import annotations

import signal
from typing import Any

from jobs import store
from jobs.access import user_named
from jobs.kinds import JobContext, job_kind
from jobs.registry import Tab, TabGroup, Tool, register
from jobs.settings import get_settings
from jobs.tools.monitor.scenarios import check_scripts_allowed


@job_kind("monitor.scenario", lane="cpu", title="Scenario run with monitoring")
def run(ctx: JobContext) -> dict[str, Any]:
    from pipelines.monitor.scenario import ScenarioOptions, run_scenario

    check_scripts_allowed(user_named(ctx.owner))
    settings = get_settings()
    params = ctx.params
    suffix = ".py" if params.get("language", "python") == "python" else ".sh"
    script = ctx.inputs / f"scenario{suffix}"
    script.write_text(params["code"])
    options = ScenarioOptions(
        metrics=list(params.get("metrics") or ["cpu_percent", "rss_mb"]),
        interval_s=float(params.get("interval_s", 0.5)),
        timeout_s=float(params.get("timeout_s", 600)),
        args=list(params.get("args") or []),
        target=params.get("target", ""),
        workdir=ctx.dir / "work",
        memory_limit_mb=settings.scenario_max_memory_mb,
        file_limit_mb=settings.scenario_max_file_mb,
    )
    ctx.samples_itself = True  # the chart shows the scenario's processes, not the whole lane

    def keep(sample: dict[str, Any]) -> None:
        store.add_samples(
            [ctx.id],
            {k: sample.get(k) for k in ("t", "cpu_percent", "rss_mb", "gpu_mem_mb", "gpu_util")},
        )

    result = run_scenario(script, ctx.outputs, options, ctx.progress, on_sample=keep)
    outputs = {"scenario": params.get("name"), **result.to_dict()}
    if result.timed_out:
        raise RuntimeError(
            f"The scenario ran past its timeout of {options.timeout_s:.0f} s and was stopped; "
            "metrics.csv holds what was measured."
        )
    if result.exit_code:
        raise RuntimeError(
            f"The scenario script {_exit_words(result.exit_code)}; see output.txt "
            "and the log. metrics.csv holds what was measured."
        )
    return outputs


def _exit_words(code: int) -> str:
    if code == -signal.SIGXCPU:
        return "used up its CPU time (the limit is the run's timeout) and was stopped"
    if code == -signal.SIGXFSZ:
        return f"wrote a file over the limit of {get_settings().scenario_max_file_mb} MB and was stopped"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


JOBS_MONITOR = TabGroup("Jobs / Monitor", "tab-jobs")  # a top tab whose sub-tabs are tools' tabs
register(
    Tool(
        name="monitor",
        title="Scenario runs with monitoring",
        kinds=("monitor.scenario",),
        options="pipelines.monitor.scenario:ScenarioOptions",
        settings=(
            "allow_scenario_scripts",
            "scenario_max_memory_mb",
            "scenario_max_file_mb",
            "demo",
        ),
        router="studio.api.monitor:router",
        prefix="/monitor",
        aliases=("",),  # /api/v1/scenarios
        tab=Tab("Scenario runs", "tab-scenarios", "studio.tabs.monitor:build", 51, JOBS_MONITOR),
    )
)
