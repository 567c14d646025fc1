"""Captions as the trainer reads them: the trigger word and prefix first, the
generated text cleaned (a sentence, or tags), and the warnings a user should see."""

from __future__ import annotations

import re

from pipelines.captions.options import CaptionOptions

_SPACES = re.compile(r"\s+")


def _clean(text: str) -> str:
    text = _SPACES.sub(" ", text or "").strip()
    for lead in (
        "This image shows ",
        "The image shows ",
        "In this image, ",
        "This is an image of ",
    ):
        if text.lower().startswith(lead.lower()):
            text = text[len(lead) :]
    return text.strip(" ,")


def compose_caption(raw: str, options: CaptionOptions) -> str:
    """``trigger, prefix, text``: the generated text cleaned, as a sentence or as tags."""
    text = _clean(raw)
    trigger = options.trigger.strip()
    if options.style == "tags":
        seen, tags = set(), []
        for tag in re.split(r"[,\n;]+", text):
            tag = tag.strip(" .").lower()
            if tag and tag not in seen and tag != trigger.lower():
                seen.add(tag)
                tags.append(tag)
        text = ", ".join(tags)
    parts = [trigger, options.prefix.strip().strip(","), text]
    return ", ".join(p for p in parts if p)


def check_caption(caption: str, options: CaptionOptions) -> list[str]:
    """Warnings a user should see next to a caption (missing trigger, identity word)."""
    warnings = []
    trigger = options.trigger.strip()
    if trigger and not caption.strip().startswith(trigger):
        warnings.append(f"caption does not start with the trigger word {trigger!r}")
    for word in options.identity_words:
        if word.strip() and re.search(rf"\b{re.escape(word.strip())}\b", caption, re.IGNORECASE):
            warnings.append(
                f"caption contains the identity word {word.strip()!r}: remove it so the LoRA learns the trigger word instead"
            )
    if not caption.strip():
        warnings.append("caption is empty")
    return warnings
