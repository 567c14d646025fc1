"""What the tabs read when a page opens is one event (studio/page_load.py), and events that
show no progress target no component (studio.server.quiet_progress). A fresh page
sends one request for it instead of one per tab, and Gradio's frontend walks its
component tree for one event instead of eight (−18 % of the browser's CPU per page
load, docs/architecture.md "Polling")."""

from __future__ import annotations

import gradio as gr

from studio.page_load import PageLoad


def _load_events(config: dict) -> list[dict]:
    return [d for d in config["dependencies"] if any(t[1] == "load" for t in d["targets"])]


def test_the_studio_page_opens_with_one_load_event_that_fills_every_tab(studio_home):
    from studio.server import build_ui

    config = build_ui().config
    loads = _load_events(config)
    assert len(loads) == 1, [d.get("api_name") for d in loads]
    ids = {c["id"]: c["props"].get("elem_id") for c in config["components"]}
    filled = {ids[i] for i in loads[0]["outputs"]}
    # one output of each tab that reads something at page load
    for elem_id in (
        "dance-project",  # dance: the user's projects
        "frames-task",  # frame review: the tasks
        "frames-videos",  # frame review: your recordings (and their refresh's timer)
        "video-edit-models",  # video edit: the models on this machine
        "jobs-table",  # Jobs / Monitor: the first view
    ):
        assert elem_id in filled, (elem_id, sorted(map(str, filled)))
    assert len(loads[0]["outputs"]) == len(set(loads[0]["outputs"]))  # no output twice


def test_one_tabs_failure_leaves_the_others_filled():
    collector = PageLoad()
    with gr.Blocks() as blocks, collector.collect():
        a, b, c = gr.Textbox(), gr.Textbox(), gr.Number()
        text = gr.Textbox(value="typed")

        def broken():
            raise OSError("the disk went away")

        def echo(value: str, request: gr.Request):  # an input, and a request like any event
            return f"{value}!", 2

        collector.add(broken, None, a)
        collector.add(echo, text, [b, c])
    (event,) = [fn for fn in blocks.fns.values() if fn.targets and fn.targets[0][1] == "load"]
    assert [block._id for block in event.outputs] == [a._id, b._id, c._id]
    values = event.fn(None, "typed")
    assert values[1:] == ["typed!", 2]
    assert values[0] == gr.skip()  # a's value left as it was, no error for the page


def test_the_page_load_may_start_a_timer_but_never_stops_one():
    """The load event reads every tab and can answer after the user's first click: the frame
    review table's refresh, started by an Analyse click, stayed stopped when an answer read
    before the click said there was nothing to follow (CI, 2026-12-08)."""
    collector = PageLoad()
    with gr.Blocks() as blocks, collector.collect():
        table, idle, busy, also_idle = gr.Textbox(), gr.Timer(), gr.Timer(), gr.Timer()
        collector.add(lambda: ("rows", gr.Timer(active=False)), None, [table, idle])
        collector.add(lambda: gr.Timer(active=True), None, busy)
        collector.add(lambda: gr.update(active=False), None, also_idle)
    (event,) = [fn for fn in blocks.fns.values() if fn.targets and fn.targets[0][1] == "load"]
    rows, idle_value, busy_value, also_idle_value = event.fn(None)
    assert rows == "rows"
    assert idle_value == gr.skip() and also_idle_value == gr.skip()  # left as they are
    assert busy_value.active is True  # started


def test_a_tab_built_on_its_own_gets_its_own_load_event():
    collector = PageLoad()
    with gr.Blocks() as blocks:
        box = gr.Textbox()
        collector.add(lambda: "hello", None, box)
    loads = [fn for fn in blocks.fns.values() if fn.targets and fn.targets[0][1] == "load"]
    assert len(loads) == 1 and loads[0].fn() == "hello"


def test_no_tab_wires_a_load_event_of_its_own():
    from pathlib import Path

    tabs = Path(__file__).resolve().parents[1] / "studio" / "tabs"
    own = [
        str(path.relative_to(tabs))
        for path in tabs.rglob("*.py")
        if "root_block" in path.read_text() or ".load(" in path.read_text()
    ]
    assert own == [], f"use page_load.add in {own}"


def test_events_that_show_no_progress_have_no_progress_targets(studio_home):
    """Gradio's page, at every event, sets the loading status again on each component that
    any event it has seen targets (an event's outputs unless ``show_progress_on`` names
    others). The studio's quiet events (the page load, the panels' ticks, the lists on a
    timer) target none, so following a job costs the browser a third less
    (docs/architecture.md "Polling"); a button's own progress still shows on its outputs."""
    from studio.server import build_ui

    config = build_ui().config
    hidden = [d for d in config["dependencies"] if d["show_progress"] == "hidden"]
    triggers = {t[1] for d in hidden for t in d["targets"]}
    assert {"load", "tick"} <= triggers, triggers  # the page load and the timers are quiet
    assert [d for d in hidden if d["show_progress_on"] != []] == []
    shown = [d for d in config["dependencies"] if d["show_progress"] != "hidden"]
    assert shown and all(d["show_progress_on"] is None for d in shown)
