"""Scenario runs (seed 001's monitoring request): run a saved scenario script
while sampling its process tree; the samples feed the live charts."""

from __future__ import annotations

from jobs import store
from jobs.kinds import job_kind


@job_kind("monitor.scenario", lane="cpu", title="Scenario run with monitoring")
def run(ctx) -> dict:
    from pipelines.monitor.scenario import ScenarioOptions, run_scenario

    params = ctx.params
    suffix = ".py" if params.get("language", "python") == "python" else ".sh"
    script = ctx.inputs / f"scenario{suffix}"
    script.write_text(params["code"])
    options = ScenarioOptions(metrics=list(params.get("metrics") or ["cpu_percent", "rss_mb"]),
                              interval_s=float(params.get("interval_s", 0.5)),
                              timeout_s=float(params.get("timeout_s", 600)),
                              args=list(params.get("args") or []), target=params.get("target", ""))
    ctx.samples_itself = True  # the chart shows the scenario's processes, not the whole lane

    def keep(sample: dict) -> None:
        store.add_samples([ctx.id], {k: sample.get(k) for k in ("t", "cpu_percent", "rss_mb", "gpu_mem_mb",
                                                                 "gpu_util")})

    result = run_scenario(script, ctx.outputs, options, ctx.progress, on_sample=keep)
    outputs = {"scenario": params.get("name"), **result.to_dict()}
    if result.timed_out:
        raise RuntimeError(f"The scenario ran past its timeout of {options.timeout_s:.0f} s and was stopped; "
                           "metrics.csv holds what was measured.")
    if result.exit_code:
        raise RuntimeError(f"The scenario script exited with code {result.exit_code}; see output.txt "
                           "and the log. metrics.csv holds what was measured.")
    return outputs
