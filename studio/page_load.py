"""What the tabs read when a page opens, as one event (:class:`PageLoad`).

Each tab that fills something at page load (a dropdown's choices, a table, the models
on this machine) adds its function with :meth:`PageLoad.add`; ``build_ui`` builds the
tabs inside :meth:`PageLoad.collect` and wires them all as one ``load`` event. (A job
panel's remembered job comes back through its own one-shot timer, when its tab is first
shown.) For every backend event Gradio's frontend looks up, in its whole component tree,
each component an event of the page has used, and copies its value: eight separate load
events cost a fresh page about 0.6 s of the browser's main thread more than one
(docs/architecture.md "Polling"), and each was a request of its own.

A tab built outside ``collect`` (a test building one tab in its own ``gr.Blocks``) gets
its own ``load`` event, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.helpers import special_args

log = logging.getLogger(__name__)


@dataclass
class _Part:
    fn: Callable[..., Any]
    inputs: list[Any]
    outputs: list[Any]


def _as_list(components: Any) -> list[Any]:
    if components is None:
        return []
    if isinstance(components, Sequence):
        return list(components)
    return [components]


class PageLoad:
    """The tabs' page-load functions, run as one event in tab order."""

    def __init__(self) -> None:
        self._parts: list[_Part] | None = None  # None: not collecting

    @contextmanager
    def collect(self) -> Iterator[None]:
        """Collect what the tabs built inside add, then wire it on the open ``gr.Blocks``."""
        self._parts = []
        try:
            yield
            self._wire(self._parts)
        finally:
            self._parts = None

    def add(self, fn: Callable[..., Any], inputs: Any, outputs: Any) -> None:
        """``fn(*inputs)`` fills ``outputs`` when a page opens (``fn`` may take a
        ``gr.Request`` like any event function)."""
        part = _Part(fn, _as_list(inputs), _as_list(outputs))
        if self._parts is not None:
            self._parts.append(part)
            return
        root = gr.context.Context.root_block
        if root is not None:
            root.load(fn, part.inputs, part.outputs, api_visibility="private", queue=False)

    @staticmethod
    def _wire(parts: list[_Part]) -> None:
        root = gr.context.Context.root_block
        if root is None or not parts:
            return

        def page_load(request: gr.Request, *values: Any) -> list[Any]:
            out: list[Any] = []
            at = 0
            for part in parts:
                mine = list(values[at : at + len(part.inputs)])
                at += len(part.inputs)
                try:
                    args = special_args(part.fn, mine, request)[0]
                    result = part.fn(*args)
                    got = [result] if len(part.outputs) == 1 else list(result)
                    if len(got) != len(part.outputs):
                        raise ValueError(f"{len(got)} values for {len(part.outputs)} outputs")
                except Exception:  # one tab's failure leaves the others' filled
                    log.exception("page load: %s failed", getattr(part.fn, "__qualname__", part.fn))
                    got = [gr.skip() for _ in part.outputs]
                out.extend(map(_never_stops, part.outputs, got))
            return out

        root.load(
            page_load,
            [c for part in parts for c in part.inputs],
            [c for part in parts for c in part.outputs],
            api_visibility="private",
            show_progress="hidden",
            queue=False,
        )


def _stops(value: Any) -> bool:
    if isinstance(value, gr.Timer):
        return value.active is False
    return isinstance(value, dict) and value.get("active") is False


def _never_stops(output: Any, value: Any) -> Any:
    """A timer's value from the page load: it may start the timer, never stop it. The load
    event reads every tab and can answer after the user's first clicks (an Analyse that
    started a table's refresh, say): an answer read before them must not stop what they
    started. The timer's own ticks stop it once there is nothing to follow."""
    return gr.skip() if isinstance(output, gr.Timer) and _stops(value) else value


page_load = PageLoad()
