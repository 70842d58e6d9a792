"""Settings read from the environment (`LEADERBOARD_*`), one object for every service."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TypedDict

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.events import Dtype


class NatsLogin(TypedDict, total=False):
    """A NATS user's login, as `Bus.connect` takes it."""

    user: str
    password: str


class Settings(BaseSettings):
    """Every setting a service reads; the docs' configuration table lists the same fields."""

    model_config = SettingsConfigDict(env_prefix="LEADERBOARD_", extra="ignore")

    nats_url: str | None = Field(
        default=None,
        description="NATS server URL, or several servers of one cluster comma-separated "
        "(`nats://a:4222,nats://b:4222`); unset: `leaderboard up` starts an embedded one.",
    )
    stream_replicas: int | None = Field(
        default=None,
        ge=1,
        le=5,
        description="Replicas of each JetStream stream (3 on a 3-node cluster); unset: existing "
        "streams keep theirs, new ones get 1.",
    )
    nats_user: str | None = Field(
        default=None,
        description="NATS user to connect as; unset: no credentials. `leaderboard up` gives each "
        "service its own (DATA_DIR/nats-credentials/); see operations.md.",
    )
    nats_password: SecretStr | None = Field(default=None, description="The NATS user's password.")
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
    web_default_benchmark: str = Field(
        default="MTEB(eng, v2)", description="The benchmark whose leaderboard is the home page."
    )
    api_host: str = Field(default="127.0.0.1", description="Submission API bind address.")
    api_port: int = Field(default=8001, description="Submission API port.")
    metrics_host: str = Field(
        default="127.0.0.1",
        description="Bind address of the aggregator's and evaluators' `/metrics` and `/healthz`.",
    )
    aggregator_metrics_port: int = Field(
        default=9101, ge=0, description="Aggregator `/metrics` and `/healthz` port; 0: none."
    )
    evaluator_metrics_port: int = Field(
        default=9102,
        ge=0,
        description="Evaluator `/metrics` and `/healthz` port; 0: none. `leaderboard up "
        "--evaluators N` gives evaluator i the port EVALUATOR_METRICS_PORT + i.",
    )
    store_timeout_s: float = Field(
        default=1.5,
        gt=0,
        description="How long a service waits to reach MongoDB before the operation fails (the "
        "web pages and the API then answer 503).",
    )
    api_url: str | None = Field(
        default=None,
        description="Submission API URL the CLI and the web's submit form talk to; default "
        "http://API_HOST:API_PORT (`leaderboard up` sets it so).",
    )
    datasets_dir: Path | None = Field(
        default=None,
        description="Offline task data: `<dir>/<Task>/` is used instead of the Hub when it exists.",
    )
    models_dir: Path | None = Field(
        default=None,
        description="Offline model mirror: model `org/name` loads from `<dir>/org/name/`.",
    )
    task_data_dir: Path | None = Field(
        default=None,
        description="Where an evaluator keeps the custom tasks' data it fetched from the bus, one "
        "folder per task revision; unset: DATA_DIR/task-data.",
    )
    device: str = Field(default="cpu", description="Evaluator torch device (cpu, cuda, cuda:1).")
    batch_size: int = Field(default=32, description="Evaluator encode batch size.")
    job_ack_wait_s: float = Field(
        default=60.0, description="Job lease: redelivered if no heartbeat comes within this time."
    )
    job_max_deliver: int = Field(default=3, description="Deliveries of one job before giving up.")
    job_timeout_s: float = Field(
        default=6 * 3600.0,
        gt=0,
        description="A task running longer fails as `timeout` (checked between encode batches).",
    )
    job_retry_backoff_s: float = Field(
        default=5.0,
        ge=0,
        description="Delay before the first retry of a transient failure; doubles per attempt.",
    )
    dtype: Dtype = Field(default="fp32", description="Evaluator model precision: fp32, fp16, bf16.")
    model_cache_size: int = Field(
        default=1, ge=1, description="Models an evaluator keeps loaded for the next jobs."
    )
    evaluator_id: str | None = Field(
        default=None,
        description="Name of this evaluator in events; default host:pid "
        "(`leaderboard up` names its evaluators ID-0, ID-1, …, ID defaulting to evaluator@host).",
    )

    api_key: SecretStr | None = Field(
        default=None,
        description="API key the CLI sends as `Authorization: Bearer`; default: read from "
        "API_KEY_FILE.",
    )
    api_key_file: Path = Field(
        default=Path.home() / ".config" / "leaderboard" / "api-key",
        description="File holding the CLI's API key; `leaderboard up` (embedded store) writes an "
        "operator key there at first start, owner-only.",
    )
    secret_key_file: Path | None = Field(
        default=None,
        description="Fernet key sealing submitters' Hub tokens for the evaluators and the web's "
        "sign-in cookies; `leaderboard up` makes DATA_DIR/secret.key at first start. Unset: "
        "private models are refused and the web offers no sign-in.",
    )
    submissions_per_day: int = Field(
        default=50, description="Submissions one non-admin API key may make per UTC day."
    )
    max_model_parameters: int = Field(
        default=8_000_000_000,
        description="Size cap: models with more parameters (safetensors header) are refused.",
    )
    allow_trust_remote_code: bool = Field(
        default=False, description="Accept models whose code lives in their repository."
    )
    require_license: bool = Field(
        default=True, description="Refuse Hub models whose card declares no license."
    )
    task_upload_max_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=1,
        description="Largest request body of a task upload (`POST /v1/tasks`), streamed to disk; "
        "other requests take 256 KiB.",
    )
    task_max_file_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1, description="Largest data file of a custom task."
    )
    task_max_total_bytes: int = Field(
        default=500 * 1024 * 1024, ge=1, description="Largest total of a custom task's data files."
    )
    task_max_rows: int = Field(
        default=2_000_000, ge=1, description="Most rows (lines, records) of one custom task file."
    )
    task_max_text_chars: int = Field(
        default=100_000, ge=1, description="Longest text (a document, query, sentence) of a task."
    )
    webhook_attempts: int = Field(
        default=6,
        ge=1,
        description="Tries of a submission's callback POST before it is dead-lettered.",
    )
    webhook_retry_backoff_s: float = Field(
        default=10.0,
        ge=0,
        description="Delay before the second try of a callback; doubles per try.",
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, description="How long one callback POST may take."
    )
    bootstrap_resamples: int = Field(
        default=1000,
        ge=0,
        description="Bootstrap resamples over tasks for benchmark intervals (seeded); 0: none.",
    )
    snapshot_retention_days: int = Field(
        default=365,
        ge=1,
        description="Days of daily benchmark leaderboard snapshots (rank over time) kept.",
    )

    def nats_login(self, role: str | None = None) -> NatsLogin:
        """`user` and `password` for `Bus.connect`: the configured NATS user; else, for the
        operator's commands, the credentials of `role` that `leaderboard up` wrote into the data
        folder (owner-only) for its embedded nats-server; else none."""
        if self.nats_user is None:
            from shared.nats_auth import credentials_file, read_login  # it imports the bus

            if role is None or not (path := credentials_file(self.data_dir, role)).is_file():
                return NatsLogin()
            login = read_login(path)
            return NatsLogin(user=login.user, password=login.password)
        password = self.nats_password.get_secret_value() if self.nats_password else ""
        return NatsLogin(user=self.nats_user, password=password)

    def task_data_folder(self) -> Path:
        """The evaluator's cache of custom tasks' data (`task_data_dir`, else under `data_dir`)."""
        return self.task_data_dir or self.data_dir / "task-data"

    def submission_api_url(self) -> str:
        return self.api_url or f"http://{self.api_host}:{self.api_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
