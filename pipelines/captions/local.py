"""The ``local`` provider: a transformers vision-language model (Florence-2, BLIP,
Qwen2.5-VL or any ``AutoModelForImageTextToText`` model), loaded once."""

from __future__ import annotations

from typing import Any

from pipelines.captions.options import CaptionError, CaptionOptions


class LocalCaptioner:
    """A transformers vision-language model, loaded once.

    Florence-2 takes a task token instead of a free instruction (``<MORE_DETAILED_CAPTION>``);
    BLIP takes no instruction; chat-template models (Qwen2.5-VL, ...) get the instruction
    as the user message with the image.
    """

    name = "local"

    def __init__(self, model, processor, model_type: str, device: str, options: CaptionOptions):
        self.model, self.processor, self.model_type = model, processor, model_type
        self.device, self.options = device, options

    def describe(self, images, instruction):
        out: list[str] = []
        size = max(1, int(self.options.batch_size))
        for start in range(0, len(images), size):
            out.extend(
                self._describe_batch(
                    [im.convert("RGB") for im in images[start : start + size]], instruction
                )
            )
        return out

    def _describe_batch(self, images, instruction):
        import torch

        processor, model = self.processor, self.model
        if self.model_type == "florence2":
            # A Florence task token given as the instruction (e.g. "<GENERATE_TAGS>"
            # of a caption preset) is used as is; else the style picks the task.
            if instruction.strip().startswith("<") and instruction.strip().endswith(">"):
                task = instruction.strip()
            else:
                task = (
                    "<MORE_DETAILED_CAPTION>"
                    if self.options.style == "sentence"
                    else "<DETAILED_CAPTION>"
                )
            inputs = processor(text=[task] * len(images), images=images, return_tensors="pt")
        elif self.model_type in ("blip",):
            inputs = processor(images=images, return_tensors="pt")
        else:
            messages = [
                {
                    "role": "user",
                    "content": [{"type": "image"}, {"type": "text", "text": instruction}],
                }
            ]
            prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
            tok = getattr(processor, "tokenizer", None)
            if tok is not None:
                tok.padding_side = "left"
            inputs = processor(
                text=[prompt] * len(images), images=images, return_tensors="pt", padding=True
            )
        inputs = inputs.to(self.device)
        dtype = next(model.parameters()).dtype
        if "pixel_values" in inputs and inputs["pixel_values"].is_floating_point():
            inputs["pixel_values"] = inputs["pixel_values"].to(dtype)
        with torch.inference_mode():
            generated = model.generate(
                **inputs, max_new_tokens=self.options.max_new_tokens, do_sample=False
            )
        if self.model_type not in ("florence2", "blip") and "input_ids" in inputs:
            generated = generated[:, inputs["input_ids"].shape[1] :]
        texts = processor.batch_decode(generated, skip_special_tokens=True)
        return [t.strip() for t in texts]

    def chat(self, text, instruction):
        raise CaptionError(
            "The local caption model cannot rewrite text: choose provider 'api' for the rewrite."
        )


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise CaptionError(
            "Caption device 'cuda' was asked for but no CUDA GPU is available: use 'auto' or 'cpu'."
        )
    return device


def _load_processor(name: str, model_type: str):
    """``AutoProcessor`` for ``name``; without torchvision, the processor minus its video part.

    Processors of video-capable VLMs (Qwen2-VL, Qwen2.5-VL, ...) also load a video
    processor, and in transformers 5.x those exist only with torchvision. Captions only
    need images, so when that is the one missing piece the same processor class is
    loaded without its ``video_processor`` (its image path is unchanged).
    """
    from transformers import AutoProcessor

    try:
        return AutoProcessor.from_pretrained(name)
    except (ImportError, ValueError) as exc:
        if "torchvision" not in str(exc).lower():
            raise
        import transformers
        from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES

        cls = getattr(transformers, PROCESSOR_MAPPING_NAMES.get(model_type) or "", None)
        if cls is None or "video_processor" not in cls.get_attributes():
            raise ImportError(f"{exc} (install torchvision: `pip install torchvision`)") from None
        attributes = [a for a in cls.get_attributes() if a != "video_processor"]
        image_only: Any = type(
            cls.__name__, (cls,), {"get_attributes": classmethod(lambda c: list(attributes))}
        )
        return image_only.from_pretrained(name)


def load_local(options: CaptionOptions) -> LocalCaptioner:
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText

    name = options.local_model
    how = (
        f"download it first (`hf download {name}`) on a machine with internet access, "
        f"into a folder named {name.split('/')[-1]!r} in the studio's models folder (STUDIO_MODELS_DIR), "
        "or set the caption model to a local folder that holds config.json and the weights"
    )
    try:
        config = AutoConfig.from_pretrained(name)
    except (OSError, ValueError) as exc:
        raise CaptionError(
            f"Caption model {name!r} is not available: {how}. ({type(exc).__name__})"
        ) from None
    device = _pick_device(options.device)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        processor = _load_processor(name, config.model_type)
        model = AutoModelForImageTextToText.from_pretrained(name, dtype=dtype)
    except (OSError, ValueError, ImportError) as exc:
        raise CaptionError(
            f"Caption model {name!r} could not be loaded: {exc}. Check the folder or {how}."
        ) from None
    model.to(device).eval()
    return LocalCaptioner(model, processor, config.model_type, device, options)
