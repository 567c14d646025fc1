"""All settings of the studio, read from environment variables in one place.

Every variable is documented in docs/settings.md. Host and port follow
Gradio's own GRADIO_SERVER_NAME / GRADIO_SERVER_PORT.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STUDIO_", extra="ignore")

    home: Path = Field(default=Path("./studio-data"), description="Folder holding all state.")
    worker: str = Field(
        default="child",
        description="'child' starts the worker with the app; 'external' leaves it to `python -m jobs.worker`.",
    )
    queue_url: str = Field(
        default="",
        description="redis://... switches the queue to Redis; empty = SQLite in STUDIO_HOME.",
    )
    cpu_workers: int = Field(
        default=2,
        ge=1,
        le=64,  # lane processes the worker forks
        validation_alias=AliasChoices("STUDIO_CPU_WORKERS", "CELERY_WORKER_CONCURRENCY"),
        description="Jobs run at once in the CPU lane, each in its own lane process; seed "
        "001's CELERY_WORKER_CONCURRENCY works too.",
    )
    max_attempts: int = Field(
        default=3, ge=1, description="Runs of a job before a dead worker's job is failed."
    )
    heartbeat_s: float = Field(
        default=1.0, gt=0, description="Worker heartbeat and resource sampling interval."
    )
    auth: str = Field(
        default="", description="user:pass,user2:pass2 — login for the UI; empty = open studio."
    )
    admins: str = Field(
        default="", description="Comma-separated users who may cancel anyone's jobs."
    )
    api_tokens: str = Field(
        default="", description="token:user,... — bearer tokens for the REST API."
    )
    allowed_roots: str = Field(
        default="", description="os.pathsep-separated server folders users may read input from."
    )
    max_upload_mb: int = Field(default=500, ge=1, description="Largest accepted upload.")
    max_json_mb: float = Field(
        default=1.0, gt=0, description="Largest REST request body that is not an upload (JSON)."
    )
    max_ui_event_mb: float = Field(
        default=16.0, gt=0, description="Largest Gradio event body (the values a tab sends)."
    )
    worker_give_up_after: int = Field(
        default=5,
        ge=1,
        description="Crashes in a row at start after which app.py stops restarting the worker.",
    )
    allow_scenario_scripts: bool | None = Field(
        default=None,
        description="Scenario scripts (code run by the worker): unset = admins only, and off in an open studio; 1 = on for admins (everyone in an open studio); 0 = off.",
    )
    scenario_max_memory_mb: int = Field(
        default=4096,
        ge=0,
        description="Memory (data segment) limit of each process of a scenario script; 0 = none.",
    )
    scenario_max_file_mb: int = Field(
        default=1024, ge=0, description="Largest file a scenario script may write; 0 = none."
    )
    models_kept: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Models a worker keeps loaded between jobs (least recently used let go first).",
    )
    models_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("STUDIO_MODELS_DIR", "MODELS_DIR"),
        description="Folder with local model folders (default STUDIO_HOME/models); "
        "seed 004's MODELS_DIR works too.",
    )
    # Dance generation (seed 004's variable names).
    steadydancer_dir: Path | None = Field(
        default=None,
        validation_alias="STEADYDANCER_DIR",
        description="Official SteadyDancer checkout (holds generate_dancer.py).",
    )
    steadydancer_python: str = Field(
        default="",
        validation_alias="STEADYDANCER_PYTHON",
        description="Python of SteadyDancer's environment (default: the studio's).",
    )
    steadydancer_ckpt_dir: Path | None = Field(
        default=None,
        validation_alias="STEADYDANCER_CKPT_DIR",
        description="SteadyDancer-14B weights (default MODELS_DIR/SteadyDancer-14B).",
    )
    wan_animate_model: str = Field(
        default="",
        description="diffusers Wan-Animate folder or Hub id (default "
        "MODELS_DIR/Wan2.2-Animate-14B-Diffusers when present).",
    )

    # -- security (issue 19) -------------------------------------------
    api_endpoints: str = Field(
        default="",
        description="name=url,... — the OpenAI-compatible caption / rewrite APIs users may pick "
        "by name (besides 'openai'); a typed URL is for admins only.",
    )
    max_jobs_per_user: int = Field(
        default=20,
        ge=0,
        description="Queued + running jobs one user may have at once (admins exempt); 0 = no limit.",
    )
    demo: bool | None = Field(
        default=None,
        description="Public demo mode (only without logins): each browser its own anonymous "
        "owner, no admin powers. Unset = on when SPACE_ID is set.",
    )
    demo_retention_h: float = Field(
        default=24.0, gt=0, description="Public demo: a visitor's work is deleted after this."
    )
    demo_max_jobs: int = Field(
        default=3, ge=1, description="Public demo: queued + running jobs per visitor."
    )
    output_roots: str = Field(
        default="",
        description="os.pathsep-separated server folders admins may write outputs into "
        "(STUDIO_ALLOWED_ROOTS are read-only inputs).",
    )
    space_id: str = Field(default="", validation_alias="SPACE_ID")

    # -- records (issue 20) --------------------------------------------
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("STUDIO_DATABASE_URL", "DATABASE_URL"),
        description="Where the records live (SQLAlchemy URL); empty = sqlite:///STUDIO_HOME/studio.db. "
        "postgresql://user:pw@host/db puts them in PostgreSQL (driver psycopg 3), for several "
        "machines; seed 004's DATABASE_URL is read when STUDIO_DATABASE_URL is unset.",
    )

    server_name: str = Field(default="127.0.0.1", validation_alias="GRADIO_SERVER_NAME")
    server_port: int = Field(default=7860, validation_alias="GRADIO_SERVER_PORT")

    # -- models (issue 23) ---------------------------------------------
    fetch_models: Literal["off", "auto"] = Field(
        default="off",
        description="auto: a job that needs a declared model (GET /api/v1/models) that is "
        "missing downloads it into the models folder first (never with HF_HUB_OFFLINE=1).",
    )

    # -- frame review uploads: seed 001's .env names (issue 22) ------------
    frames_allowed_extensions: str = Field(
        default="",
        validation_alias=AliasChoices("STUDIO_FRAMES_ALLOWED_EXTENSIONS", "ALLOWED_EXTENSIONS"),
        description="Recording formats frame review accepts, e.g. '.mp4,.mov' (seed 001's "
        "ALLOWED_EXTENSIONS); empty = every format it reads (.mp4, .mov, .webm, .mkv).",
    )
    frames_max_video_size: int | None = Field(
        default=None,
        ge=1,
        validation_alias=AliasChoices("STUDIO_FRAMES_MAX_VIDEO_SIZE", "MAX_VIDEO_SIZE"),
        description="Largest recording upload in bytes (seed 001's MAX_VIDEO_SIZE); unset = "
        "STUDIO_MAX_UPLOAD_MB, which also caps it.",
    )
    frames_max_concurrent_uploads: int = Field(
        default=5,
        ge=1,
        le=1000,
        validation_alias=AliasChoices(
            "STUDIO_FRAMES_MAX_CONCURRENT_UPLOADS", "MAX_CONCURRENT_UPLOADS"
        ),
        description="Recording uploads saved at once (seed 001's MAX_CONCURRENT_UPLOADS); "
        "more wait their turn.",
    )

    # -- several machines (issue 21) -------------------------------------
    worker_host: str = Field(
        default="",
        description="This worker's machine name in the records (workers, jobs.host); empty = "
        "socket.gethostname(). Worker identity is host + pid + lane.",
    )
    gpu_lanes: str = Field(
        default="auto",
        description="GPU lanes this worker runs, one per GPU, each pinned to its device "
        "(CUDA_VISIBLE_DEVICES): 'auto' = torch's device count (1 unpinned lane without a GPU), "
        "or a number; 'shared' = one lane that sees every GPU of the machine (seed 003's one "
        "worker: InstructPix2Pix spreads over them with device_map='balanced').",
    )

    @field_validator("allow_scenario_scripts", "demo", mode="before")
    @classmethod
    def _unset_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("frames_max_video_size", mode="before")
    @classmethod
    def _no_size_is_none(cls, value: object) -> object:
        if isinstance(value, str):  # "524288000  # 500MB" as seed 001's .env writes it
            value = value.split("#", 1)[0].strip()
            return value or None
        return value

    @field_validator("frames_allowed_extensions")
    @classmethod
    def _extensions(cls, value: str) -> str:
        """'.mp4, mov' -> '.mp4,.mov' (lower case, each with its dot)."""
        parts = [p.strip().lower() for p in value.split("#", 1)[0].replace(" ", ",").split(",")]
        return ",".join(p if p.startswith(".") else f".{p}" for p in parts if p)

    @field_validator("gpu_lanes")
    @classmethod
    def _gpu_lanes(cls, value: str) -> str:
        value = value.strip().lower() or "auto"
        if value not in ("auto", "shared") and not (value.isdigit() and 1 <= int(value) <= 64):
            raise ValueError(
                "STUDIO_GPU_LANES must be 'auto', 'shared' or a number of lanes from 1 to 64"
            )
        return value

    @field_validator("worker")
    @classmethod
    def _worker_mode(cls, value: str) -> str:
        if value not in ("child", "external"):
            raise ValueError("STUDIO_WORKER must be 'child' or 'external'")
        return value

    # -- derived paths -------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.home / "studio.db"

    @property
    def records_url(self) -> str:
        """``database_url``, or the embedded SQLite file ``STUDIO_HOME/studio.db``."""
        return self.database_url.strip() or f"sqlite:///{self.db_path}"

    @property
    def queue_path(self) -> Path:
        return self.home / "queue.db"

    @cached_property
    def jobs_dir(self) -> Path:
        """``home/jobs`` (read for every job file: made once)."""
        return self.home / "jobs"

    @property
    def datasets_dir(self) -> Path:
        return self.home / "datasets"

    @property
    def media_dir(self) -> Path:
        """Uploaded media kept beyond one job (e.g. recordings under review)."""
        return self.home / "media"

    @property
    def models_path(self) -> Path:
        return self.models_dir or self.home / "models"

    # -- parsed lists --------------------------------------------------
    @property
    def open_studio(self) -> bool:
        """No logins and no API tokens: everyone is the same anonymous admin."""
        return not (self.users or self.tokens)

    @property
    def demo_mode(self) -> bool:
        """Public demo: an open studio (no logins) where each browser is its own
        anonymous, non-admin owner. On with STUDIO_DEMO=1, or when SPACE_ID is set
        and STUDIO_DEMO is unset; never when logins are configured."""
        if not self.open_studio:
            return False
        return self.demo if self.demo is not None else bool(self.space_id)

    @property
    def endpoints(self) -> dict[str, str]:
        """The caption / rewrite API endpoints users may pick by name."""
        named = {"openai": "https://api.openai.com/v1"}
        for part in self.api_endpoints.split(","):
            if "=" in part:
                name, url = part.split("=", 1)
                if name.strip() and url.strip():
                    named[name.strip()] = url.strip()
        return named

    @property
    def writable_roots(self) -> list[Path]:
        """Admins' output folders; none in the public demo."""
        import os

        if self.demo_mode:
            return []
        return [Path(p).resolve() for p in self.output_roots.split(os.pathsep) if p.strip()]

    @property
    def users(self) -> dict[str, str]:
        return dict(_pairs(self.auth))

    @property
    def admin_users(self) -> set[str]:
        return {u.strip() for u in self.admins.split(",") if u.strip()}

    @property
    def tokens(self) -> dict[str, str]:
        return dict(_pairs(self.api_tokens))

    @property
    def roots(self) -> list[Path]:
        """STUDIO_ALLOWED_ROOTS; none in the public demo (visitors upload, they never
        name server folders: ``jobs.inputs.server_path`` refuses with a 403)."""
        import os

        if self.demo_mode:
            return []
        return [Path(p).resolve() for p in self.allowed_roots.split(os.pathsep) if p.strip()]

    # -- dance data folder (issue 22, seed 004's STEADYDANCER_DATA_DIR) ---
    steadydancer_data_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("STUDIO_STEADYDANCER_DATA_DIR", "STEADYDANCER_DATA_DIR"),
        description="Where dance projects, assets, experiments and jobs live "
        "(<dir>/projects/{project}/...); default STUDIO_HOME.",
    )


def _pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for part in text.split(","):
        if ":" in part:
            left, right = part.split(":", 1)
            if left.strip():
                pairs.append((left.strip(), right.strip()))
    return pairs


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    settings = Settings()
    settings.home = settings.home.resolve()
    return settings


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment)."""
    get_settings.cache_clear()
