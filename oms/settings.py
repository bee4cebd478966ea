"""One `Settings` for every process, read from `OMS_*` environment variables.

The defaults run the embedded system on one machine: the Temporal dev server on
localhost:7233, a SQLite read model under `var/`. Policy deadlines are nested:
`OMS_POLICY__REVIEW_DEADLINE=PT30M` (ISO 8601 durations, or seconds).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.policy import PolicySettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_", env_nested_delimiter="__", extra="ignore")

    #: Where runtime files live: the SQLite read model, the dev server's database, logs.
    var_dir: Path = Path("var")
    #: SQLAlchemy URL of the read model; empty means a SQLite file under `var_dir`.
    database_url: str = ""

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "orders"
    #: Where people open the Temporal Web UI (links in the API and console).
    temporal_ui_url: str = "http://localhost:8233"
    temporal_ui_port: int = 8233

    api_host: str = "127.0.0.1"
    api_port: int = 8000

    #: Worker tuning: concurrent activity threads, and workflows kept in the sticky cache.
    activity_threads: int = Field(default=32, ge=1)
    max_cached_workflows: int = Field(default=10_000, ge=0)
    #: Workflow tasks one worker process runs at once, and its long polls for them
    #: (docs/performance.md has the measurements behind the defaults).
    max_concurrent_workflow_tasks: int = Field(default=100, ge=2)
    workflow_task_pollers: int = Field(default=5, ge=2)
    activity_task_pollers: int = Field(default=5, ge=1)
    #: Run workflows in Temporal's import sandbox (catches non-determinism at run time).
    workflow_sandbox: bool = True
    #: Keep compiled workflow modules even under PYTHONDONTWRITEBYTECODE (in a temporary
    #: folder): the sandbox imports the workflow module afresh for every workflow it starts.
    workflow_bytecode_cache: bool = True
    #: SQLite read model: writers of one process queue on a lock of their own before
    #: SQLite's (whose busy handler sleeps); no effect on PostgreSQL.
    sqlite_serialize_writes: bool = True
    #: How many `oms worker` processes `oms up` starts on the task queue. One Python
    #: process runs one core at most; two halved the staff's wait at saturation on the
    #: 2-core reference machine (docs/performance.md).
    worker_processes: int = Field(default=2, ge=1)

    #: API processes behind the one port (uvicorn workers).
    api_workers: int = Field(default=1, ge=1)
    #: How long the API trusts a token it has looked up; 0 looks every request up.
    #: A revoked or rotated token keeps working at most this long (docs/performance.md).
    api_token_cache_seconds: float = Field(default=5, ge=0)

    policy: PolicySettings = PolicySettings()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'oms.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
