"""The examples block of a tab: one click fills the tab's inputs with media made
offline (:mod:`pipelines.examples`, written once into ``STUDIO_HOME/examples``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from jobs.settings import get_settings

log = logging.getLogger(__name__)


def examples(
    inputs: Sequence[gr.components.Component],
    make: Callable[[Path], Sequence[Any]],
    *,
    label: str,
    elem_id: str,
    headers: Sequence[str] | None = None,
) -> gr.Examples | None:
    """A ``gr.Examples`` whose one row is ``make(STUDIO_HOME)`` (paths become strings),
    filling ``inputs`` in order. If the media cannot be written (a read-only data
    folder) the tab is built without it and the reason goes to the log. ``headers``
    name the columns when the inputs' labels repeat (the page cannot show two
    columns of one name)."""
    try:
        row = [_value(v) for v in make(get_settings().home)]
    except Exception:
        log.exception("the %s examples could not be written; the tab has none", elem_id)
        return None
    block = gr.Examples([row], inputs=list(inputs), label=label, elem_id=elem_id)
    if headers is not None:
        block.dataset.headers = list(headers)
    return block


def _value(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    return value
