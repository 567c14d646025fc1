"""Timers that run only while their tab is shown (:class:`VisibleTabs`); the server builds
each tab inside ``visible_tabs.tab(key)`` and wires the tab levels (docs/architecture.md "Polling")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import gradio as gr


@dataclass
class _Poller:
    path: tuple[str, ...]
    timer: gr.Timer
    resume: Callable[..., Any] | None
    inputs: list[Any]
    outputs: list[Any]


class VisibleTabs:
    """Timers that run only while their tab is the one shown.

    ``build_ui`` builds each tab inside ``visible_tabs.tab(key)`` and then calls
    ``visible_tabs.wire(tabs)``; a tab with sub-tabs does the same for them.
    A timer registered with :meth:`poll_while_shown` is paused when another tab
    (at any level) is selected and resumed when its tab is shown again:
    ``resume(*inputs, request)`` returns the timer's update and the values of
    ``outputs`` (a job panel resumes only while its job can still change);
    without ``resume`` the timer simply starts again. Any other ``gr.Timer``
    built inside a wired tab is paused and resumed the same way (a tab opts in
    with ``poll_while_shown`` only to resume more cleverly, or opts out with
    :meth:`leave_alone`). One request per tab switch; none while the page stays
    on one tab.
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
        resume: Callable[..., Any] | None = None,
        inputs: list[Any] | None = None,
        outputs: list[Any] | None = None,
    ) -> None:
        self._pollers.append(
            _Poller(tuple(self._path), timer, resume, list(inputs or []), list(outputs or []))
        )

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
                    self._pollers.append(_Poller((*scope, key), timer, None, [], []))
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
        levels = list(self._levels.items())
        inputs = [level_state for _, level_state in levels] + [c for p in pollers for c in p.inputs]
        outputs = [state] + [c for p in pollers for c in (p.timer, *p.outputs)]

        def select(request: gr.Request, *values: Any) -> tuple[Any, ...]:
            chosen = {level: value for (level, _), value in zip(levels, values, strict=False)}
            chosen[scope] = key
            rest = list(values[len(levels) :])
            answer: list[Any] = [key]
            for poller in pollers:
                args, rest = rest[: len(poller.inputs)], rest[len(poller.inputs) :]
                shown = all(
                    chosen.get(poller.path[:i], poller.path[i]) == poller.path[i]
                    for i in range(len(poller.path))
                )
                if not shown:
                    answer += [gr.Timer(active=False), *[gr.update() for _ in poller.outputs]]
                elif poller.resume is not None:
                    answer += list(poller.resume(*args, request))
                else:
                    answer += [gr.Timer(active=True), *[gr.update() for _ in poller.outputs]]
            return tuple(answer)

        tab.select(
            select, inputs, outputs, api_visibility="private", show_progress="hidden", queue=False
        )


def _timers_in(block: Any) -> Iterator[gr.Timer]:
    for child in getattr(block, "children", []) or []:
        if isinstance(child, gr.Timer):
            yield child
        yield from _timers_in(child)


visible_tabs = VisibleTabs()
