"""Trainer presets and the frame-bucket check (diffusion-pipe, musubi-tuner).

diffusion-pipe rounds a clip's frame count down to the nearest ``k*n+1``
(``n`` = 4 for Wan / HunyuanVideo, 8 for LTX-Video) and drops clips shorter
than the smallest frame bucket. We check this per clip after conversion so the
user learns it here, not in training.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrainerPreset:
    name: str
    label: str
    fps: float
    frame_multiple: int  # usable frame counts are frame_multiple*k + 1
    frame_buckets: tuple[int, ...]
    resolutions: tuple[int, ...]  # diffusion-pipe ``resolutions`` (side of a square area)


PRESETS: dict[str, TrainerPreset] = {
    "wan": TrainerPreset("wan", "Wan 2.x (16 fps)", 16.0, 4, (1, 33, 65, 81), (480,)),
    "hunyuan": TrainerPreset(
        "hunyuan", "HunyuanVideo (24 fps)", 24.0, 4, (1, 33, 65, 97, 129), (512,)
    ),
    "ltx": TrainerPreset("ltx", "LTX-Video (25 fps)", 25.0, 8, (1, 25, 49, 97, 121), (512,)),
}

FRAME_POLICIES = ("warn", "trim", "drop")


def usable_frames(frames: int, multiple: int = 4) -> int:
    """Frames the trainer keeps: ``frames`` rounded down to ``multiple*k + 1`` (0 if none)."""
    if frames < 1:
        return 0
    return multiple * ((frames - 1) // multiple) + 1


def min_video_bucket(buckets: tuple[int, ...] | list[int]) -> int:
    """Smallest bucket for a video (bucket 1 is for still images)."""
    video = [b for b in buckets if b > 1]
    return min(video) if video else 1


@dataclass
class BucketCheck:
    frames: int
    usable: int  # after rounding down to multiple*k+1
    bucket: int | None  # the largest frame bucket the clip fills; None: trainer drops it
    warnings: list[str] = field(default_factory=list)

    @property
    def too_short(self) -> bool:
        return self.bucket is None


def check_frames(
    frames: int, buckets: tuple[int, ...] | list[int], multiple: int = 4, fps: float | None = None
) -> BucketCheck:
    """Compare a clip's frame count with the trainer's frame buckets."""
    usable = usable_frames(frames, multiple)
    smallest = min_video_bucket(buckets)
    fitting = [b for b in buckets if b > 1 and b <= frames]
    bucket = max(fitting) if fitting else None
    check = BucketCheck(frames=frames, usable=usable, bucket=bucket)
    if bucket is None:
        need = f"{smallest} frames" + (f" ({smallest / fps:.2f} s at {fps:g} fps)" if fps else "")
        check.warnings.append(
            f"{frames} frames is shorter than the smallest frame bucket ({need}): "
            "the trainer will drop this clip; use a longer clip or add a smaller bucket"
        )
    elif frames > max(buckets):
        longest = max(buckets)
        hint = f" ({longest / fps:.1f} s)" if fps else ""
        check.warnings.append(
            f"{frames} frames is longer than the largest frame bucket, {longest}{hint}: the trainer uses "
            f"{longest} frames of it; split long videos into clips (clip length) to use all of it"
        )
    elif usable != frames:
        check.warnings.append(
            f"{frames} frames is not {multiple}k+1: the trainer uses {usable} and ignores "
            f"{frames - usable}; choose 'trim' to cut it here"
        )
    return check
