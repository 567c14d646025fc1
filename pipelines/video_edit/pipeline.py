"""A video edit from start to end, in the stages the user sees.

queued → extracting (probe the clip, check the models) → masking (the first
frames' mask) → propagating (the mask through the clip; the mask video) →
editing (InstructPix2Pix on the crop around the mask, in batches) → smoothing
(composite through the feathered mask, temporal smoothing inside it) →
saving (the input's audio muxed in, the files checked) → finished | failed.

Frames stream through every stage in small groups: what is kept between
stages is on disk in a work folder beside the outputs (the raw masks at ≤ 512
px, the edited frames as a near-lossless video), deleted at the end. Memory
stays bounded on long 1080p clips.
"""

from __future__ import annotations

import shutil
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import BadInput
from pipelines.progress import Cancelled, NullProgress, Progress
from pipelines.video_edit.options import VideoEditRequest
from pipelines.video_edit.pictures import mask_overlay, side_by_side
from pipelines.video_edit.smoothing import (
    FrameMask,
    MaskShape,
    PixelSmoother,
    composite,
    shape_mask,
    union_box,
)
from pipelines.video_edit.stages import (
    EmptyMask,
    ModelCache,
    Stages,
    check_models,
    frame_groups,
    frame_ranges,
    process_cache,
)
from pipelines.video_edit.status import (
    JobLog,
    StatusFile,
    VideoEditStatus,
    one_line,
    output_names,
)

__all__ = [  # importable from here as before the split
    "EmptyMask",
    "ModelCache",
    "check_models",
    "mask_overlay",
    "preview_mask",
    "process_cache",
    "run_video_edit",
    "side_by_side",
]

MASK_STORE_SIDE = 512  # raw masks are kept at most this large (they are upsampled when used)
MASK_CHUNK = 8  # frames per call of the mask backend


# -- the job ----------------------------------------------------------------------------


class _Job:
    def __init__(
        self,
        request: VideoEditRequest,
        progress: Progress,
        models: ModelCache,
        search_dirs: list[Path] | tuple[Path, ...],
    ):
        self.r = request
        self.models = models
        self.search_dirs = search_dirs
        self.out = request.resolved_output_dir()
        self.out.mkdir(parents=True, exist_ok=True)
        self.names = output_names(request.job_id)
        self.paths = {k: self.out / v for k, v in self.names.items()}
        self.work = self.out / f".{request.job_id}_work"
        self.shape = MaskShape(
            threshold=request.extra.mask_threshold,
            erode_kernel=request.erode_kernel,
            feather=request.extra.feather,
        )
        status = VideoEditStatus(
            job_id=request.job_id,
            status="queued",
            progress=0.0,
            message="Waiting to start",
            logs_path=self.paths["log"],
        )
        self.status = StatusFile(self.out, status)
        self.status.write()
        self.st = Stages(self.status, progress, JobLog(self.paths["log"]))

    # ---------------------------------------------------------------- extracting
    def extract(self, edit: bool = True) -> None:
        from pipelines.video_edit.video_io import probe

        r = self.r
        self.st.enter("extracting", f"reading {r.input_video_path.name}")
        self.info = info = probe(r.input_video_path)
        self.st.log(
            f"input {info.width}x{info.height} @ {float(info.fps):.3f} fps, {info.frames} frames, "
            f"{'with' if info.has_audio else 'no'} audio, codec {info.codec}, rotation {info.rotation}"
        )
        self.choice, self.ip2p = check_models(r, self.search_dirs, edit=edit)
        where = f" ({self.choice.location.folder})" if self.choice.location else ""
        self.st.log(f"mask backend: {self.choice.backend}{where}")
        if self.ip2p is not None:
            self.st.log(f"edit model: {self.ip2p.source} ({self.ip2p.folder})")
        if r.mode == "single_frame":
            if r.frame_index >= info.frames:
                raise BadInput(
                    f"frame_index {r.frame_index} is past the clip's last frame ({info.frames - 1})."
                )
            self.start, self.total = r.frame_index, 1
        else:
            self.start, self.total = 0, min(info.frames, r.max_frames or info.frames)
        self.status.update(total_frames=self.total, current_frame=0, force=True)
        self.work.mkdir(parents=True, exist_ok=True)

    def frames(self) -> Iterator[np.ndarray]:
        from pipelines.video_edit.video_io import read_frames

        return read_frames(self.r.input_video_path, self.start, self.total)

    # ---------------------------------------------------------------- masking + propagating
    def mask_backend(self):
        """The mask model, loaded once per process (SAM3's official .pt converted first)."""
        from pipelines.video_edit.masking import load_backend

        location = self.choice.location
        folder = str(location.folder) if location else None
        if location is not None and location.checkpoint is not None:
            from pipelines.video_edit.sam3_checkpoint import convert

            convert(location.checkpoint, location.folder, say=self.st.log)
        return self.models(
            f"mask:{self.choice.backend}:{folder}",
            lambda: load_backend(self.choice.backend, folder),
        )

    def mask(self) -> None:
        import cv2

        r, info = self.r, self.info
        self.st.enter("masking", f"{self.choice.backend}: finding {r.mask_prompt!r}")
        backend = self.mask_backend()
        scale = min(1.0, MASK_STORE_SIDE / max(info.width, info.height))
        self.store_size = (max(1, round(info.width * scale)), max(1, round(info.height * scale)))
        session = backend.session(r.mask_prompt, info.width, info.height)
        raw_path = self.work / "masks.u8"
        done = 0
        try:
            with open(raw_path, "wb") as raw:
                for chunk in frame_groups(self.frames(), MASK_CHUNK):
                    for prob in session.masks(chunk):
                        small = cv2.resize(
                            prob,
                            self.store_size,
                            interpolation=cv2.INTER_AREA
                            if prob.shape[1] > self.store_size[0]
                            else cv2.INTER_LINEAR,
                        )
                        raw.write(np.clip(np.rint(small * 255), 0, 255).astype(np.uint8).tobytes())
                    done += len(chunk)
                    self.st.frames(done, self.total)
                    if (
                        self.st.stage == "masking" and done < self.total
                    ):  # the first frames are masked
                        self.st.enter(
                            "propagating", f"following {r.mask_prompt!r} through the clip"
                        )
        finally:
            session.close()
        if self.st.stage == "masking":
            self.st.enter("propagating", "one frame: nothing to propagate")
        if done < self.total:
            self.st.log(
                f"the clip has {done} decodable frames, not {self.total} as its header says"
            )
            self.total = done
            self.status.update(total_frames=done, force=True)
        if done == 0:
            raise BadInput(f"{r.input_video_path.name}: no frame could be decoded.")
        w, h = self.store_size
        self.raw = np.memmap(raw_path, dtype=np.uint8, mode="r", shape=(done, h, w))
        self._write_mask_video()

    def final_mask(self, t: int) -> FrameMask:
        """Frame t's mask: temporal blend of the raw masks, threshold, erode, feather."""
        from pipelines.video_edit.smoothing import blend_in_time, window_range

        r = self.r
        prob = self.raw[t].astype(np.float32) / 255.0
        if (
            r.apply_smoothing
            and r.smoothing_window > 1
            and r.smoothing_alpha > 0
            and self.total > 1
        ):
            lo, hi = window_range(t, self.total, r.smoothing_window)
            mean = self.raw[lo:hi].astype(np.float32).mean(axis=0) / 255.0
            prob = blend_in_time(prob, mean, r.smoothing_alpha)
        return shape_mask(prob, self.info.width, self.info.height, self.shape)

    def _write_mask_video(self) -> None:
        from pipelines.video_edit.video_io import VideoWriter

        info, path = self.info, self.paths["mask"]
        empty: list[int] = []
        with VideoWriter(
            path, info.width, info.height, info.fps, crf=20, preset="veryfast"
        ) as writer:
            for t in range(self.total):
                m = self.final_mask(t)
                if m.empty:
                    empty.append(self.start + t)
                grey = np.clip(np.rint(m.soft * 255), 0, 255).astype(np.uint8)
                writer.write(np.repeat(grey[:, :, None], 3, axis=2))
        self.empty = set(empty)
        self.status.update(mask_preview_path=path, force=True)
        if len(empty) == self.total:
            raise EmptyMask(
                f"The mask prompt {self.r.mask_prompt!r} matched nothing in any of the {self.total} "
                f"frames ({self.choice.backend} mask). Describe it differently, lower extra."
                "mask_threshold or the erode_kernel, or use another mask backend."
            )
        if empty:
            self.st.log(
                f"empty mask in {len(empty)} of {self.total} frames ({frame_ranges(empty)}): "
                "these frames are copied unchanged"
            )
        self.st.log(f"mask video: {path.name}")

    def mask_one(self) -> None:
        """Preview: the mask of one frame as pictures (no mask video, no edit)."""
        from PIL import Image

        r = self.r
        self.st.enter(
            "masking", f"{self.choice.backend}: finding {r.mask_prompt!r} in frame {r.frame_index}"
        )
        backend = self.mask_backend()
        frame = next(self.frames())
        session = backend.session(r.mask_prompt, self.info.width, self.info.height)
        try:
            prob = session.masks([frame])[0]
        finally:
            session.close()
        m = shape_mask(prob, self.info.width, self.info.height, self.shape)
        self.st.frames(1, 1)
        Image.fromarray(frame).save(self.paths["input_png"])
        Image.fromarray(mask_overlay(frame, m.soft)).save(self.paths["mask_png"])
        area = float((m.soft > 0.5).mean())
        self.preview_message = (
            f"{r.mask_prompt!r} covers {area:.1%} of frame {r.frame_index} ({self.choice.backend})"
            if not m.empty
            else f"{r.mask_prompt!r} matched nothing in frame {r.frame_index} "
            f"({self.choice.backend})"
        )
        self.st.log(self.preview_message)

    # ---------------------------------------------------------------- editing
    def edit(self) -> None:
        from pipelines.video_edit.editing import Editor, EditSettings, crop_box, load_ip2p, paste
        from pipelines.video_edit.video_io import VideoWriter

        r, info = self.r, self.info
        self.st.enter("editing", f"{r.edit_prompt!r} on the masked region")
        assert self.ip2p is not None
        folder = str(self.ip2p.folder)
        pipe = self.models(
            f"ip2p:{folder}:gpus={r.gpus or 'all'}",
            lambda: load_ip2p(folder, say=self.st.log, gpus=r.gpus),
        )
        editor = Editor(
            pipe,
            EditSettings(
                prompt=r.edit_prompt,
                num_inference_steps=r.num_inference_steps,
                guidance_scale=r.guidance_scale,
                image_guidance_scale=r.image_guidance_scale,
                seed=r.seed,
                working_size=r.extra.working_size,
            ),
        )
        self.edited_path = self.work / "edited.mkv"
        done = 0
        # near-lossless and fast (only the pixels inside the mask are taken from it)
        with VideoWriter(
            self.edited_path,
            info.width,
            info.height,
            info.fps,
            crf=8,
            preset="ultrafast",
            pix_fmt="yuv444p",
        ) as writer:
            for chunk in frame_groups(self.frames(), r.extra.batch_size):
                masks = [self.final_mask(done + i) for i in range(len(chunk))]
                todo = [i for i, m in enumerate(masks) if not m.empty]
                out = list(chunk)
                if todo:
                    box = union_box(masks[i].box for i in todo)
                    assert box is not None
                    box = crop_box(box, info.width, info.height, r.extra.feather)
                    x0, y0, x1, y1 = box
                    base = done

                    def on_step(
                        step: int, steps: int, base: int = base, n: int = len(todo)
                    ) -> None:
                        self.st.frames(base + n * step / steps, self.total, frame=base + n)

                    edited = editor.edit([chunk[i][y0:y1, x0:x1] for i in todo], on_step)
                    for i, crop in zip(todo, edited, strict=True):
                        out[i] = paste(chunk[i], crop, box)
                for i in range(len(chunk)):
                    if masks[i].empty:
                        self.st.log(f"frame {self.start + done + i}: empty mask, copied unchanged")
                    writer.write(out[i])
                done += len(chunk)
                self.st.frames(done, self.total)

    # ---------------------------------------------------------------- smoothing
    def smooth(self) -> None:
        from pipelines.video_edit.video_io import VideoWriter, read_frames

        r, info = self.r, self.info
        on = (
            r.apply_smoothing
            and r.smoothing_window > 1
            and r.smoothing_alpha > 0
            and self.total > 1
        )
        self.st.enter(
            "smoothing",
            f"temporal smoothing (window {r.smoothing_window}, alpha {r.smoothing_alpha})"
            if on
            else "smoothing off: compositing the edit through the mask",
        )
        smoother = PixelSmoother(r.smoothing_window if on else 1, r.smoothing_alpha if on else 0.0)
        self.video_only = self.work / "video.mp4"
        self.last_frame: np.ndarray | None = None
        written = 0
        with VideoWriter(
            self.video_only, info.width, info.height, info.fps, crf=17, preset="veryfast"
        ) as writer:

            def emit(frames: Iterator[np.ndarray]) -> None:
                nonlocal written
                for frame in frames:
                    writer.write(frame)
                    self.last_frame = frame
                    written += 1
                    if written % 4 == 0 or written == self.total:
                        self.st.frames(written, self.total)

            edited = read_frames(self.edited_path)
            for t, (original, layer) in enumerate(zip(self.frames(), edited, strict=True)):
                m = self.final_mask(t)
                frame = original if m.empty else composite(original, layer, m.soft, m.region)
                emit(smoother.push(frame, m.soft, m.region))
            emit(smoother.finish())
        if written != self.total:
            raise RuntimeError(f"wrote {written} frames, expected {self.total}")

    # ---------------------------------------------------------------- saving
    def save(self) -> None:
        from pipelines.video_edit.video_io import mux_with_audio, probe

        r, info = self.r, self.info
        self.st.enter("saving", "writing the output video")
        output = self.paths["output"]
        if info.has_audio and r.mode == "video":
            mux_with_audio(self.video_only, r.input_video_path, output)
            self.st.log("audio of the input copied into the output")
        else:
            shutil.move(str(self.video_only), output)
        check = probe(output)
        if check.frames != self.total or check.size != info.size:
            self.st.log(
                f"warning: the output has {check.frames} frames {check.width}x{check.height}, "
                f"expected {self.total} {info.width}x{info.height}"
            )
        if r.mode == "single_frame":
            self._pictures()

    def _pictures(self) -> None:
        from PIL import Image

        original = next(self.frames())
        m = self.final_mask(0)
        edited = self.last_frame if self.last_frame is not None else original
        overlay = mask_overlay(original, m.soft)
        Image.fromarray(original).save(self.paths["input_png"])
        Image.fromarray(overlay).save(self.paths["mask_png"])
        Image.fromarray(edited).save(self.paths["edited_png"])
        Image.fromarray(side_by_side([original, overlay, edited])).save(self.paths["compare_png"])

    def finish(self, message: str) -> VideoEditStatus:
        self.st.log(f"[finished] {message}")
        status = self.status.update(
            status="finished",
            progress=1.0,
            message=message,
            error=None,
            output_video_path=self.paths["output"] if self.paths["output"].is_file() else None,
            force=True,
        )
        self.st.progress.update(stage="finished", fraction=1.0, message=message)
        return status

    def fail(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            error = "Cancelled by the user"
        else:
            error = one_line(str(exc) or type(exc).__name__)
            self.st.log_file.write(traceback.format_exc())
        self.st.log(f"[failed] at {self.st.stage}: {error}")
        self.status.update(
            status="failed", error=error, message=f"Failed while {self.st.stage}", force=True
        )

    def keep_intermediates(self) -> None:
        """``keep_intermediates``: the raw masks (one PNG a frame, at the stored size, in a
        ZIP) and the edited frames before they are blended through the mask."""
        import zipfile

        import cv2

        raw = getattr(self, "raw", None)
        if raw is not None:
            partial = self.paths["masks"].with_suffix(".partial")
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:  # PNG: packed
                for t in range(len(raw)):
                    _, png = cv2.imencode(".png", np.ascontiguousarray(raw[t]))
                    archive.writestr(f"mask_{self.start + t:06d}.png", png.tobytes())
            partial.replace(self.paths["masks"])
            self.st.log(f"kept the raw masks: {self.names['masks']}")
        edited = getattr(self, "edited_path", None)
        if edited is not None and edited.is_file():
            shutil.move(edited, self.paths["edited_frames"])
            self.st.log(f"kept the edited frames before blending: {self.names['edited_frames']}")

    def cleanup(self) -> None:
        raw = getattr(self, "raw", None)
        if raw is not None:
            del self.raw
        shutil.rmtree(self.work, ignore_errors=True)


def run_video_edit(
    request: VideoEditRequest | dict[str, Any],
    progress: Progress | None = None,
    *,
    models: ModelCache | None = None,
    search_dirs: list[Path] | tuple[Path, ...] = (),
) -> VideoEditStatus:
    """Seed 003's ``run_video_edit``: edit the clip, writing ``status.json`` at every stage.

    Returns the final status; raises (after writing ``failed`` with a one-line
    ``error`` to ``status.json``) when the job fails, and ``Cancelled`` when
    ``progress.update`` raises it.
    """
    if not isinstance(request, VideoEditRequest):
        request = VideoEditRequest.model_validate(request)
    job = _Job(request, progress or NullProgress(), models or process_cache, search_dirs)
    try:
        job.extract()
        job.mask()
        job.edit()
        job.smooth()
        job.save()
        if request.keep_intermediates:
            job.keep_intermediates()
        edited = job.total - len(job.empty)
        return job.finish(
            f"Edited {edited} of {job.total} frames"
            + (f" ({len(job.empty)} without mask copied unchanged)" if job.empty else "")
        )
    except BaseException as exc:
        job.fail(exc)
        raise
    finally:
        job.cleanup()


def preview_mask(
    request: VideoEditRequest | dict[str, Any],
    progress: Progress | None = None,
    *,
    models: ModelCache | None = None,
    search_dirs: list[Path] | tuple[Path, ...] = (),
) -> VideoEditStatus:
    """The mask of one frame (``frame_index``) as an overlay picture (``{job_id}_mask.png``),
    with ``{job_id}_input.png``; status.json goes queued → extracting → masking → finished."""
    if not isinstance(request, VideoEditRequest):
        request = VideoEditRequest.model_validate(request)
    request = request.model_copy(update={"mode": "single_frame"})
    job = _Job(request, progress or NullProgress(), models or process_cache, search_dirs)
    try:
        job.extract(edit=False)
        job.mask_one()
        return job.finish(job.preview_message)
    except BaseException as exc:
        job.fail(exc)
        raise
    finally:
        job.cleanup()
