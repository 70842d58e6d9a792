"""Settings read from the environment (`LEADERBOARD_*`), one object for every service."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting a service reads; the docs' configuration table lists the same fields."""

    model_config = SettingsConfigDict(env_prefix="LEADERBOARD_", extra="ignore")

    nats_url: str | None = Field(
        default=None, description="NATS server URL; unset: `leaderboard up` starts an embedded one."
    )
    mongodb_url: str | None = Field(
        default=None, description="MongoDB URL; unset: `leaderboard up` starts an embedded one."
    )
    mongodb_database: str = Field(default="leaderboard", description="Database name.")
    data_dir: Path = Field(
        default=Path.home() / ".local" / "share" / "leaderboard",
        description="Where `leaderboard up` keeps the embedded servers' data.",
    )
    embedded_nats_port: int = Field(default=4222, description="Port of the embedded nats-server.")
    embedded_mongodb_port: int = Field(
        default=27017, description="Port of the embedded Mongo-wire server."
    )
    log_level: str = Field(default="INFO", description="Log level of every service.")
    web_host: str = Field(default="127.0.0.1", description="Web pages bind address.")
    web_port: int = Field(default=8000, description="Web pages port.")
    api_host: str = Field(default="127.0.0.1", description="Submission API bind address.")
    api_port: int = Field(default=8001, description="Submission API port.")
    api_url: str | None = Field(
        default=None,
        description="Submission API URL the CLI talks to; default http://API_HOST:API_PORT.",
    )
    datasets_dir: Path | None = Field(
        default=None,
        description="Offline task data: `<dir>/<Task>/` is used instead of the Hub when it exists.",
    )
    models_dir: Path | None = Field(
        default=None,
        description="Offline model mirror: model `org/name` loads from `<dir>/org/name/`.",
    )
    device: str = Field(default="cpu", description="Evaluator torch device (cpu, cuda, cuda:1).")
    batch_size: int = Field(default=32, description="Evaluator encode batch size.")
    job_ack_wait_s: float = Field(
        default=60.0, description="Job lease: redelivered if no heartbeat comes within this time."
    )
    job_max_deliver: int = Field(default=3, description="Deliveries of one job before giving up.")
    evaluator_id: str | None = Field(
        default=None,
        description="Name of this evaluator in events; default host:pid "
        "(`leaderboard up` names its evaluators ID-0, ID-1, …, ID defaulting to evaluator@host).",
    )

    def submission_api_url(self) -> str:
        return self.api_url or f"http://{self.api_host}:{self.api_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
