"""The official SteadyDancer code as a child process: its command line, its
output read as progress, and the check of what it wrote.

The studio does not import SteadyDancer (it needs CUDA, flash-attn and its own
environment). It runs ``generate_dancer.py`` from ``STEADYDANCER_DIR`` with
``STEADYDANCER_PYTHON`` and the arguments of SteadyDancer's README::

    python generate_dancer.py --task i2v-14B --size 1024*576 --ckpt_dir CKPT \\
        --prompt "$(cat prompt.txt)" --image ref_image.png \\
        --cond_pos_folder positive/ --cond_neg_folder negative/ \\
        --sample_guide_scale 5.0 --condition_guide_scale 1.0 --end_cond_cfg 0.4 \\
        --base_seed 106060 --save_file out.mp4 [--frame_num 81] [--sample_steps N] \\
        [--offload_model True] [--t5_cpu]

It logs its stages as INFO lines on stdout and a tqdm bar ``k/N`` on stderr
while sampling; :class:`OutputReader` turns both into job progress and log
lines. Its video writer swallows errors, so success is decided by
:func:`pipelines.dance.video.check_video` on the file, not by the exit code alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.dance.config import DanceConfig
from pipelines.errors import BadInput
from pipelines.progress import Progress

SCRIPT = "generate_dancer.py"
TASK = "i2v-14B"
TAIL_CHARS = 64_000  # stdout / stderr kept in the result (the whole text stays in the job folder)
_TQDM = re.compile(r"(\d+)/(\d+) \[")
_STAGES = [  # (INFO text of generate_dancer.py, stage, progress fraction)
    ("Generation job args", "starting", 0.01),
    ("Creating WanI2V", "loading model", 0.03),
    ("Generating video", "sampling", 0.10),
    ("Saving generated video", "saving", 0.96),
    ("Finished.", "finished", 0.99),
]
SAMPLING = (0.10, 0.95)  # fraction range of the sampling steps


@dataclass(frozen=True)
class SteadyDancerSetup:
    """Where the official code, its Python and its weights are."""

    directory: Path | None
    python: str
    ckpt_dir: Path

    @property
    def script(self) -> Path | None:
        return self.directory / SCRIPT if self.directory else None

    @property
    def installed(self) -> bool:
        return self.script is not None and self.script.is_file()

    def problem(self) -> str | None:
        """Why it cannot run, with what to do; None when it can be started."""
        if self.directory is None:
            return (
                "SteadyDancer is not set up: clone https://github.com/MCG-NJU/SteadyDancer, install its "
                "requirements (CUDA, flash-attn) in its own environment, download MCG-NJU/SteadyDancer-14B "
                "into MODELS_DIR/SteadyDancer-14B, then set STEADYDANCER_DIR (and STEADYDANCER_PYTHON to "
                "that environment's python)."
            )
        if not self.installed:
            return f"STEADYDANCER_DIR={self.directory} holds no {SCRIPT}; point it at the SteadyDancer checkout."
        return None


def build_argv(
    setup: SteadyDancerSetup,
    input_dir: str | Path,
    config: DanceConfig,
    prompt: str,
    save_file: str | Path,
) -> list[str]:
    """The command line for one generation from a pair folder."""
    if setup.script is None:
        raise BadInput(setup.problem() or "SteadyDancer is not set up.")
    folder = Path(input_dir)
    argv = [
        setup.python,
        str(setup.script),
        "--task",
        TASK,
        "--size",
        config.size,
        "--ckpt_dir",
        str(setup.ckpt_dir),
        "--prompt",
        prompt,
        "--image",
        str(folder / "ref_image.png"),
        "--cond_pos_folder",
        str(folder / "positive") + "/",
        "--cond_neg_folder",
        str(folder / "negative") + "/",
        "--sample_guide_scale",
        _num(config.sample_guide_scale),
        "--condition_guide_scale",
        _num(config.condition_guide_scale),
        "--end_cond_cfg",
        _num(config.end_cond_cfg),
        "--base_seed",
        str(config.base_seed),
        "--save_file",
        str(save_file),
        "--frame_num",
        str(config.frame_num),
    ]
    if config.sample_steps is not None:
        argv += ["--sample_steps", str(config.sample_steps)]
    if config.offload_model is not None:
        argv += ["--offload_model", str(config.offload_model)]
    if config.t5_cpu:
        argv.append("--t5_cpu")
    return argv


def child_env(config: DanceConfig) -> dict[str, str]:
    """Environment additions for the child: the GPUs of the config, unbuffered output (the
    rest of its environment is the clean one of ``JobContext.run_child``)."""
    env = {"PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
    if config.cuda_visible_devices:
        env["CUDA_VISIBLE_DEVICES"] = config.cuda_visible_devices
    return env


def _num(value: float) -> str:
    return f"{value:g}"


class OutputReader:
    """Reads the child's output as it comes (``feed(stream, text)``): stdout
    lines go to the log and move the stage; the tqdm bar on stderr moves the
    progress (``sampling k/N``); other stderr lines go to the log. Keeps the
    tail of both streams for the result."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.text = {"stdout": "", "stderr": ""}
        self._partial = {"stdout": "", "stderr": ""}
        self.step: tuple[int, int] | None = None
        self._logged: tuple[int, int] | None = None
        self.stage = "starting"

    def feed(self, stream: str, text: str) -> None:
        self.text[stream] = (self.text[stream] + text)[-TAIL_CHARS:]
        pieces = re.split(r"[\r\n]", self._partial[stream] + text)
        self._partial[stream] = pieces.pop()  # an unfinished line waits for the rest
        for piece in pieces:
            self._line(stream, piece)
        if stream == "stderr" and self._partial[stream]:
            self._progress_bar(self._partial[stream], log=False)  # a tqdm refresh without \r yet

    def finish(self) -> None:
        for stream, rest in self._partial.items():
            if rest:
                self._line(stream, rest)
            self._partial[stream] = ""

    def _line(self, stream: str, line: str) -> None:
        line = line.rstrip()
        if not line:
            return
        if stream == "stderr" and self._progress_bar(line, log=True):
            return
        self.progress.log(f"[{stream}] {line}")
        if stream == "stdout":
            for marker, stage, fraction in _STAGES:
                if marker in line and stage != self.stage:
                    self.stage = stage
                    self.progress.update(stage=stage, fraction=fraction)

    def _progress_bar(self, text: str, log: bool) -> bool:
        found = _TQDM.findall(text)
        if not found:
            return False
        k, n = (int(v) for v in found[-1])
        if n <= 0:
            return True
        if log and (k, n) != self._logged:
            self._logged = (k, n)
            self.progress.log(f"[stderr] sampling step {k}/{n}")
        if (k, n) != self.step:
            self.step = (k, n)
            start, end = SAMPLING
            self.stage = "sampling"
            self.progress.update(
                stage="sampling", fraction=start + (end - start) * k / n, item=f"step {k}/{n}"
            )
        return True
