"""Captions for video clips: which frames, which instruction, merge, rewrite.

The models and the API client live in the shared :mod:`pipelines.captions`
(``load_captioner``, ``compose_caption``); this module only decides what to
ask them for a video:

* ``caption_method`` — seed 000's seven caption methods, as named presets of
  an instruction and a model (:data:`CAPTION_PRESETS`);
* one frame (the first, as in seed 000) or several sampled frames, described
  one by one and merged into one caption (through ``chat`` with an API
  provider, else joined);
* an optional LLM rewrite (seed 000's "Qwen optimize") through ``chat``;
* the prefix and trigger word, by ``compose_caption``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

DEFAULT_CAPTION_PREFIX = "A high quality video, "

FLORENCE_BASE = "florence-community/Florence-2-base"
FLORENCE_PROMPTGEN = "MiaoshouAI/Florence-2-base-PromptGen-v2.0"


@dataclass(frozen=True)
class CaptionPreset:
    name: str
    label: str
    instruction: str  # task prompt for the local model (Florence-2 task token)
    api_instruction: str  # the same request in words, for a chat VLM behind an API
    model: str  # local model the preset is made for


CAPTION_PRESETS: dict[str, CaptionPreset] = {
    p.name: p
    for p in [
        CaptionPreset(
            "tags",
            "Tags",
            "<GENERATE_TAGS>",
            "List the visible subjects, objects, setting and style of this video frame as comma-separated tags.",
            FLORENCE_PROMPTGEN,
        ),
        CaptionPreset(
            "simple",
            "Simple caption",
            "<CAPTION>",
            "Describe this video frame in one short sentence.",
            FLORENCE_BASE,
        ),
        CaptionPreset(
            "detailed",
            "Detailed caption",
            "<DETAILED_CAPTION>",
            "Describe this video frame in two or three sentences: subject, action, setting.",
            FLORENCE_BASE,
        ),
        CaptionPreset(
            "extra",
            "More detailed caption",
            "<MORE_DETAILED_CAPTION>",
            "Describe this video frame in detail: subject, appearance, action, setting, lighting, camera angle.",
            FLORENCE_BASE,
        ),
        CaptionPreset(
            "mixed",
            "Mixed (caption + tags)",
            "<MIXED_CAPTION>",
            "Describe this video frame in one sentence, then list its key elements as comma-separated tags.",
            FLORENCE_PROMPTGEN,
        ),
        CaptionPreset(
            "extra_mixed",
            "Extra mixed (detailed caption + tags)",
            "<MIXED_CAPTION_PLUS>",
            "Describe this video frame in detail, then list its key elements as comma-separated tags.",
            FLORENCE_PROMPTGEN,
        ),
        CaptionPreset(
            "analyze",
            "Analyze (composition)",
            "<ANALYZE>",
            "Analyse the composition of this video frame: subject placement, framing, lighting, colours, mood.",
            FLORENCE_PROMPTGEN,
        ),
    ]
}
DEFAULT_CAPTION_METHOD: Final = "detailed"

MERGE_INSTRUCTION = (
    "These are descriptions of frames sampled in order from one short video clip. "
    "Write one caption for the whole clip: who or what is in it, what happens over time, "
    "the setting and the camera. One paragraph, present tense, no preamble, no frame numbers."
)
REWRITE_INSTRUCTION = (
    "Rewrite this description of a video as one fluent English prompt for training a "
    "text-to-video model: main subject, action and motion, scene, lighting, camera. "
    "Keep every fact, add nothing that is not there, no preamble, no quotes."
)


def preset_caption_options(
    options, method: str = DEFAULT_CAPTION_METHOD, *, model_given: bool = False
):
    """``options`` (a :class:`pipelines.captions.CaptionOptions`) with the preset's
    instruction, and for a local provider its model unless the user chose one.

    An instruction already set in ``options`` wins over the preset.
    """
    if method not in CAPTION_PRESETS:
        raise ValueError(
            f"unknown caption method {method!r}; choose one of: {', '.join(CAPTION_PRESETS)}"
        )
    preset = CAPTION_PRESETS[method]
    changes = {}
    if not options.instruction:
        changes["instruction"] = (
            preset.api_instruction if options.provider == "api" else preset.instruction
        )
    if options.provider == "local" and not model_given:
        changes["local_model"] = preset.model
    return replace(options, **changes)


def describe_clip_frames(images: list, captioner, instruction: str, provider: str) -> str:
    """One raw caption for a clip from one or more of its frames."""
    texts = [t.strip() for t in captioner.describe(images, instruction)]
    texts = [t for t in texts if t]
    if len(texts) <= 1:
        return texts[0] if texts else ""
    if provider == "api":
        numbered = "\n".join(f"Frame {i + 1}: {t}" for i, t in enumerate(texts))
        merged = captioner.chat(numbered, MERGE_INSTRUCTION).strip()
        if merged:
            return merged
    return join_descriptions(texts)


def join_descriptions(texts: list[str]) -> str:
    """Join frame descriptions, dropping repeats: ``"a. Then b."``."""
    seen, unique = set(), []
    for t in texts:
        key = t.lower().strip(" .")
        if key not in seen:
            seen.add(key)
            unique.append(t.strip().rstrip("."))
    if not unique:
        return ""
    return ". Then ".join(unique) + "."


def rewrite_caption(raw: str, rewriter, instruction: str = REWRITE_INSTRUCTION) -> str:
    """The LLM rewrite (seed 000's "Qwen optimize"); the original when it comes back empty."""
    if not raw.strip():
        return raw
    text = rewriter.chat(raw, instruction).strip().strip('"').strip()
    return text or raw
