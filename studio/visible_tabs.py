"""Timers that run only while their tab is shown (:class:`VisibleTabs`); the server builds
each tab inside ``visible_tabs.tab(key)`` and wires the tab levels (docs/architecture.md "Polling")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import gradio as gr


@dataclass
class _Poller:
    path: tuple[str, ...]
    timer: gr.Timer
    needs: Any = None  # a textbox: resumed only while it holds text
    pace: float | None = None  # the timer's interval when resumed (None: as it was)
    resets: dict[Any, Any] = field(default_factory=dict)  # output -> value when resumed


class VisibleTabs:
    """Timers that run only while their tab is the one shown.

    ``build_ui`` builds each tab inside ``visible_tabs.tab(key)`` and then calls
    ``visible_tabs.wire(tabs)``; a tab with sub-tabs does the same for them.
    Every ``gr.Timer`` built inside a wired tab is paused when another tab (at
    any level) is selected and resumed when its tab is shown again. A tab opts in
    with :meth:`poll_while_shown` to resume more cleverly (a job panel: only while
    its job id box holds an id, at its first pace, its back-off reset; the panel's
    next tick stops it if the job is over), or opts out with :meth:`leave_alone`.

    The switch runs in the browser (a JavaScript handler, no request): a request
    would make Gradio's frontend walk its whole component tree once per component
    it has ever shown a loading status for, twice per event — hundreds of
    milliseconds of the browser's main thread per switch in this studio — and its
    answer, arriving late, could undo what the user did meanwhile.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the timers of an earlier build (``build_ui`` calls this first)."""
        self._path: list[str] = []
        self._pollers: list[_Poller] = []
        self._levels: dict[tuple[str, ...], gr.State] = {}
        self._left_alone: set[int] = set()

    @contextmanager
    def tab(self, key: str) -> Iterator[None]:
        self._path.append(key)
        try:
            yield
        finally:
            self._path.pop()

    def poll_while_shown(
        self,
        timer: gr.Timer,
        needs: Any = None,
        pace: float | None = None,
        resets: dict[Any, Any] | None = None,
    ) -> None:
        """``timer`` resumes when its tab is shown only while ``needs`` (a textbox)
        holds text, at ``pace`` seconds, with ``resets`` (component -> value) set."""
        self._pollers.append(_Poller(tuple(self._path), timer, needs, pace, dict(resets or {})))

    def leave_alone(self, timer: gr.Timer) -> None:
        """A timer that manages itself (a one-shot, say): never paused or resumed."""
        self._left_alone.add(timer._id)

    def wire(self, tabs: list[tuple[str, gr.Tab]]) -> None:
        """Tabs of one level (built with :meth:`tab`): selecting one resumes its timers, pauses the rest."""
        if not tabs:
            return
        scope = tuple(self._path)
        known = {p.timer._id for p in self._pollers} | self._left_alone
        for key, tab in tabs:
            for timer in _timers_in(tab):
                if timer._id not in known:
                    self._pollers.append(_Poller((*scope, key), timer))
                    known.add(timer._id)
        state = gr.State(tabs[0][0])
        self._levels[scope] = state
        for key, tab in tabs:
            self._wire_one(scope, key, tab, state)

    def _wire_one(self, scope: tuple[str, ...], key: str, tab: gr.Tab, state: gr.State) -> None:
        pollers = [
            p for p in self._pollers if p.path[: len(scope)] == scope and len(p.path) > len(scope)
        ]
        if not pollers:
            return
        levels = list(self._levels)
        needs = list(dict.fromkeys(p.needs for p in pollers if p.needs is not None))
        inputs = [self._levels[level] for level in levels] + needs
        outputs = [state] + [c for p in pollers for c in (p.timer, *p.resets)]
        plan = {
            "level": levels.index(scope),
            "key": key,
            "levels": len(levels),
            "pollers": [
                {
                    # the levels this timer's tab sits in: (level's index, the key it needs there)
                    "path": [
                        [levels.index(p.path[:i]), p.path[i]]
                        for i in range(len(p.path))
                        if p.path[:i] in self._levels
                    ],
                    "needs": None if p.needs is None else len(levels) + needs.index(p.needs),
                    "timer": {"active": True} | ({} if p.pace is None else {"value": p.pace}),
                    "resets": list(p.resets.values()),
                }
                for p in pollers
            ],
        }
        tab.select(None, inputs, outputs, js=_SELECT_JS % json.dumps(plan))


# The select handler, in the browser: the chosen tab of every level (this level's is
# the tab just selected), then per timer: resumed (its update and its resets) when
# its tab is shown at every level and what it needs is filled, else paused (its
# resets left as they are: undefined leaves an output alone).
_SELECT_JS = """(...values) => {
  const plan = %s;
  const chosen = values.slice(0, plan.levels);
  chosen[plan.level] = plan.key;
  const out = [plan.key];
  for (const poller of plan.pollers) {
    const shown = poller.path.every(([level, key]) => chosen[level] === key);
    const filled = poller.needs === null || String(values[poller.needs] ?? "").trim() !== "";
    if (shown && filled) {
      out.push({__type__: "update", ...poller.timer}, ...poller.resets);
    } else {
      out.push({__type__: "update", active: false}, ...poller.resets.map(() => undefined));
    }
  }
  return out;
}"""


def _timers_in(block: Any) -> Iterator[gr.Timer]:
    for child in getattr(block, "children", []) or []:
        if isinstance(child, gr.Timer):
            yield child
        yield from _timers_in(child)


visible_tabs = VisibleTabs()
