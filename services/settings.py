"""Typed settings from the environment (and an optional .env file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from inference.memory import MemoryOptions
from inference.presets import Preset, load_presets, with_auxiliary
from services.escalation import DEFAULT_LADDER, parse_duration, parse_ladder


class Settings(BaseSettings):
    """Every knob a server owner can turn; see the README's settings table."""

    model_config = SettingsConfigDict(
        env_prefix="IMAGINEBOT_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # No default: a missing token is a start-up error with a clear message, and SecretStr
    # keeps it out of reprs and logs.
    token: SecretStr | None = Field(default=None, validation_alias="DISCORD_TOKEN")
    model: str = "sd-turbo"
    # More presets members may pick in /settings (the default `model` is always served).
    models: Annotated[list[str], NoDecode] = Field(default_factory=list)
    presets_file: Path | None = None
    data_dir: Path = Path("data")
    database_url: str | None = None
    models_dir: Path | None = None
    device: str | None = None
    # None: float16 on CUDA, float32 elsewhere.
    dtype: Literal["float32", "float16", "bfloat16"] | None = None
    # GPU memory savers, applied when a model loads (docs/inference.md, "Memory").
    attention_slicing: bool = False
    vae_tiling: bool = False
    cpu_offload: Literal["none", "model", "sequential"] = "none"
    # torch.compile the denoiser at load (CUDA only; the first render compiles for minutes).
    torch_compile: bool = False
    guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    mod_role_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    max_running_jobs: int = 3
    max_queued_jobs: int = 7
    max_attempts: int = 3
    # Render in the bot's process (see `renders_in_process`); None: decided by the database.
    embedded_worker: bool | None = None
    # A worker renews its running job's lease every third of this; a job whose lease is this
    # old belongs to a dead worker and is requeued by a live one.
    lease_seconds: float = Field(default=30.0, gt=0)
    # The longest one render may take; past it the job fails, saying so, and the worker
    # moves on (IMAGINEBOT_RENDER_TIMEOUT_S).
    render_timeout_s: float = Field(default=600.0, gt=0)
    # Fast GPU time per member per day; past it their jobs run in the relax lane. 0: no cap.
    fast_minutes_per_day: float = Field(default=60.0, ge=0)
    strike_ladder: str = DEFAULT_LADDER
    # This many blocked prompts within the window are a strike (0: blocks never strike).
    block_strike_count: int = Field(default=5, ge=0)
    block_strike_window: str = "1h"
    output_filter: str | None = None
    # The super-resolution model of every preset's upscales (a file, a hub file
    # owner/repo/file, or "off"); None: each preset's own (inference.presets).
    upscaler: str | None = None
    # The captioning model of /describe (a hub id or folder, or "off"); None: each
    # preset's own (inference.presets.DEFAULT_CAPTIONER, the tiny presets a tiny one).
    captioner: str | None = None
    image_classifier: str = "Falconsai/nsfw_image_detection"
    lexicon_file: Path | None = None
    delete_grace_hours: float = 24.0
    # Invalid Discord requests (401/403/429) in 10 minutes past which deliveries wait
    # (Discord restricts the IP at 10,000).
    invalid_request_budget: int = Field(default=1000, gt=0)
    allow_dms: bool = False
    # The web companion (web/): its port (0: off), the public base URL its links start with
    # (default http://localhost:<port>), the secret that signs them (16+ characters; needed
    # when the port is set) and how long a link lasts.
    # Presets whose restrictive weight licences the owner accepted (names, or "all").
    accept_licences: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Prometheus /metrics, /healthz and /readyz of this process (bot or worker; 0: off).
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    web_port: int = Field(default=0, ge=0, le=65535)
    web_host: str = "127.0.0.1"  # behind a reverse proxy; 0.0.0.0 to serve the network
    web_url: str | None = None
    web_secret: SecretStr | None = None
    web_link_hours: float = Field(default=24.0, gt=0)
    # Gateway shards: a number, or "auto" for Discord's recommendation (large bots).
    shards: int | Literal["auto"] = 1
    # After connecting, discord.py reports ready this long after the last guild arrived
    # (its own default); the bot serves and recovers jobs from then on.
    guild_ready_timeout_s: float = Field(default=2.0, ge=0)
    # The trained classifier and example layers; None: on when the semantic extra is installed.
    semantic_moderation: bool | None = None
    api_base: str | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_API_BASE", "IMAGINEBOT_API_BASE")
    )
    gateway_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DISCORD_GATEWAY_URL", "IMAGINEBOT_GATEWAY_URL"),
    )
    log_level: str = "INFO"
    # Connections to Discord's API kept open at most (reused; see ImagineBot.login).
    http_connections: int = Field(default=32, gt=0)
    # Hide the job id in every stored image (needs the `watermark` extra).
    watermark: bool = False
    # An answer not ready this long after the interaction was made is deferred first.
    ack_budget_s: float = Field(default=0.15, ge=0, le=2.5)
    # Image prompts: fetched only from these hosts (exact names), within these caps.
    image_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["cdn.discordapp.com", "media.discordapp.net"]
    )
    image_max_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    image_max_pixels: int = Field(default=4096 * 4096, gt=0)
    # Per job: how many distinct image links (image prompts, --sref, --cref), and how many
    # pixels they may have together (each is decoded only after this check).
    image_max_links: int = Field(default=6, gt=0)
    image_max_total_pixels: int = Field(default=2 * 4096 * 4096, gt=0)
    image_timeout_s: float = Field(default=10.0, gt=0)

    @property
    def renders_in_process(self) -> bool:
        """Whether the bot runs a worker of its own: by default on SQLite (embedded mode) and
        not on PostgreSQL, where `imaginebot worker` processes render (distributed mode)."""
        if self.embedded_worker is not None:
            return self.embedded_worker
        return not (self.database_url or "").startswith("postgresql")

    @field_validator("guild_ids", "mod_role_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return [int(part) for part in value.replace(" ", "").split(",") if part]
            except ValueError:
                raise ValueError(f"expected comma-separated numeric ids, got {value!r}") from None
        return value

    @field_validator("models", mode="before")
    @classmethod
    def _name_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("accept_licences", mode="before")
    @classmethod
    def _accepted(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("image_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            return [str(part).strip().lower().rstrip(".") for part in value if str(part).strip()]
        return value

    @field_validator("shards")
    @classmethod
    def _shards(cls, value: int | str) -> int | str:
        if value != "auto" and int(value) < 1:
            raise ValueError("expected a number of shards (1 or more) or 'auto'")
        return value

    @field_validator("block_strike_window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_duration(value)  # raises with the accepted form
        return value

    @field_validator("strike_ladder")
    @classmethod
    def _ladder(cls, value: str) -> str:
        parse_ladder(value)  # raises with the accepted form
        return value

    @property
    def memory_options(self) -> MemoryOptions:
        return MemoryOptions(
            attention_slicing=self.attention_slicing,
            vae_tiling=self.vae_tiling,
            cpu_offload=self.cpu_offload,
            dtype=self.dtype,
            compile=self.torch_compile,
        )

    @property
    def embedded_database(self) -> Path:
        """The SQLite file used when no database URL is set."""
        return self.data_dir / "imaginebot.db"

    @property
    def web_base_url(self) -> str:
        return self.web_url or f"http://localhost:{self.web_port}"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.embedded_database}"

    def load_presets(self) -> dict[str, Preset]:
        """The built-in presets and the presets file's, with IMAGINEBOT_UPSCALER and
        IMAGINEBOT_CAPTIONER applied;
        ValueError naming what is wrong in the file."""
        return with_auxiliary(load_presets(self.presets_file), self.upscaler, self.captioner)

    @property
    def served_models(self) -> list[str]:
        """The default preset first, then the other offered ones, each once."""
        return list(dict.fromkeys([self.model, *self.models]))

    @property
    def fast_allowance_s(self) -> float | None:
        return self.fast_minutes_per_day * 60 or None

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir or self.data_dir / "models"
