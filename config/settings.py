"""One `Settings` for every process, read from `OMS_*` environment variables.

The defaults run the embedded system on one machine: the Temporal dev server on
localhost:7233, a SQLite read model under `var/`. Policy deadlines are nested:
`OMS_POLICY__REVIEW_DEADLINE=PT30M` (ISO 8601 durations, or seconds).
"""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.command_keys import CommandKeys, load_command_keys
from config.keys import Keyring, load_key_file
from config.private_files import write_private
from domain.policy import PolicySettings
from domain.reports import ReportSettings
from domain.scorecards import ScorecardSettings
from domain.supervision import SupervisionSettings
from domain.training import TrainingSettings


class ConsoleSettings(BaseModel):
    """The staff web console under /console (`OMS_CONSOLE__*`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The language a browser gets until it picks another.
    default_language: Literal["zh-CN", "en"] = "zh-CN"
    #: Staff read dates and times in this zone (an IANA name), whatever the language.
    time_zone: str = "Asia/Shanghai"
    #: A sign-in lasts this long; then the token is asked for again.
    session_hours: float = Field(default=12, gt=0, le=24 * 30)
    #: How often an open inbox fetches its rows again.
    inbox_refresh_seconds: int = Field(default=30, ge=1, le=3600)
    #: Mark the console's cookies Secure: set it where the console is served over HTTPS.
    secure_cookies: bool = False

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class SimCarrierSettings(BaseModel):
    """The simulated carrier (`OMS_SIM_CARRIER__*`): how fast it moves a parcel along
    and how often something goes wrong, so that P5.2 happens by itself too."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Seconds between one scan and the next (collected, in transit, out for delivery,
    #: delivered): about a minute end to end by default.
    step_seconds: float = Field(default=15, gt=0)
    #: Shares of parcels that are delayed on the way, arrive damaged, or are lost.
    delay_share: float = Field(default=0.05, ge=0, le=1)
    damage_share: float = Field(default=0.02, ge=0, le=1)
    loss_share: float = Field(default=0.01, ge=0, le=1)
    #: Where the simulated carrier posts its signed callbacks (the API's base URL).
    callback_url: str = "http://127.0.0.1:8000"
    #: How often the simulated carrier looks for scans that fell due.
    poll_seconds: float = Field(default=1, gt=0)


class SupervisorSettings(BaseModel):
    """How `oms up` restarts a worker, the API or the codec server that crashed
    (`OMS_SUPERVISOR__*`; oms/restart_policy.py, docs/ops.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The wait before the first restart, doubled for each further exit within the window...
    initial_delay_seconds: float = Field(default=1, gt=0)
    #: ... up to this.
    max_delay_seconds: float = Field(default=30, gt=0)
    #: More restarts than this within the window is a crash loop: `oms up` gives the process
    #: up and stops (0: the first crash stops everything).
    max_restarts: int = Field(default=6, ge=0)
    window_seconds: float = Field(default=300, gt=0)

    @model_validator(mode="after")
    def _delays_in_order(self) -> SupervisorSettings:
        if self.max_delay_seconds < self.initial_delay_seconds:
            raise ValueError("max_delay_seconds must not be shorter than initial_delay_seconds")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_", env_nested_delimiter="__", extra="ignore")

    #: Where runtime files live: the SQLite read model, the dev server's database, logs.
    var_dir: Path = Path("var")
    #: SQLAlchemy URL of the read model; empty means a SQLite file under `var_dir`.
    database_url: str = ""
    #: At start, `oms up`, the worker and the API bring the read model to this version's
    #: migrations (db/migrations/). False: they refuse a database that is behind, naming
    #: `oms db upgrade` (a deployment that runs it as a job of its own, temporal-docker/).
    migrate_on_start: bool = True

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    #: The task queue the workers of this release poll, as a Worker Deployment version
    #: (workflows/releases.py). Release r1 (782a8d4) polled `orders`, unversioned: that queue
    #: stays its own until its last order ends.
    task_queue: str = "oms-orders"
    #: The Worker Deployment the workers belong to; each release is a version of it.
    worker_deployment_name: str = "oms"
    #: Make this release the deployment's current version once its workers poll (new orders
    #: then start on it). Off for a rollout that ramps or promotes by hand (docs/ops.md).
    worker_promote: bool = True
    #: Where people open the Temporal Web UI (links in the API and console).
    temporal_ui_url: str = "http://localhost:8233"
    temporal_ui_port: int = 8233

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    #: Per token: sustained requests per second and the burst allowed on top (429 beyond).
    rate_limit_per_second: float = Field(default=50.0, gt=0)
    rate_limit_burst: int = Field(default=100, ge=1)
    #: Request bodies above this are refused with 413 (an order of 200 lines is ~40 KB).
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)

    # --- Requests without a token: sign-in, /healthz, /metrics, the console's public pages ---
    #: Per client address: sustained requests per second and the burst on top (429 beyond).
    public_rate_limit_per_second: float = Field(default=5.0, gt=0)
    public_rate_limit_burst: int = Field(default=60, ge=1)

    #: Worker tuning: concurrent activity threads, and workflows kept in the sticky cache.
    activity_threads: int = Field(default=32, ge=1)
    #: Per worker process. Orders stay open for weeks, so the cache holds the orders in the
    #: middle of a step, not every open one: 2,000 keeps a process near 470 MB whatever is
    #: open, and an action on an evicted order costs ~17 ms more at p50 (docs/performance.md,
    #: "The cache default").
    max_cached_workflows: int = Field(default=2_000, ge=0)
    #: Workflow tasks one worker process runs at once, and its long polls for them
    #: (docs/performance.md has the measurements behind the defaults).
    #: Without a cache (max_cached_workflows=0: every step replays, as `make test`'s second
    #: pass runs) it must be 1: the SDK evicts a run the moment another workflow task needs
    #: the cache, cancelling its local activities in flight, and the task then times out.
    max_concurrent_workflow_tasks: int = Field(default=100, ge=1)
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
    reports: ReportSettings = ReportSettings()
    #: The periodic supervision checks (P8.1.1) and their thresholds.
    supervision: SupervisionSettings = SupervisionSettings()
    #: Customer-service training (P7.1): how recent a member's last session must be.
    training: TrainingSettings = TrainingSettings()
    #: The monthly scorecards (P8.2, P8.3) and the rules that propose a standing.
    scorecards: ScorecardSettings = ScorecardSettings()
    console: ConsoleSettings = ConsoleSettings()
    supervisor: SupervisorSettings = SupervisorSettings()

    # --- The systems outside: adapters named by class (activities/adapters.py,
    # docs/integrations.md). `simulated` names the stand-in that ships with the project.
    #: The payment gateway refunds go through (`package.module:ClassName`), built with
    #: `payment_gateway_options` as keyword arguments. The simulated one declines
    #: payments whose transaction id starts with `simulated_gateway_decline_prefix`, so
    #: the "finance refunds by hand" path can be tried.
    payment_gateway: str = "simulated"
    payment_gateway_options: dict[str, Any] = {}
    simulated_gateway_decline_prefix: str = "FAIL-"
    #: The carriers the system books, by the name logistics dispatches with (P3.4); any
    #: other carrier name is one the system does not book (logistics types its number).
    carriers: dict[str, str] = {"sim": "simulated"}
    carrier_options: dict[str, dict[str, Any]] = {}
    #: Each carrier's callback secret (HMAC-SHA256), by carrier; a carrier without one
    #: here gets one generated into var/carrier-secrets.json (`oms carrier secret NAME`).
    carrier_secrets: dict[str, str] = {}
    #: A callback whose timestamp is further off than this is refused (401).
    carrier_callback_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    #: Carriers without callbacks: `oms carrier-poll` asks them for their parcels' scans
    #: this often and hands the new ones to the API's callback (activities/carrier_poller.py).
    polled_carriers: list[str] = []
    carrier_poll_seconds: float = Field(default=60, gt=0)
    #: The simulated carrier's clock and its share of trouble (activities/carrier_sim.py).
    sim_carrier: SimCarrierSettings = SimCarrierSettings()
    #: The channel customer notifications go out through, and its options.
    notification_channel: str = "simulated"
    notification_channel_options: dict[str, Any] = {}
    #: A notification's channel is tried this many times before customer service is asked
    #: to tell the customer instead (the retries back off from 2 s up to a minute).
    notification_attempts: int = Field(default=5, ge=1, le=50)

    #: Payload encryption keys, base64 by key id (a JSON object in the environment), and
    #: the id of the one that encrypts; without them the key file under var/ is used.
    codec_keys: dict[str, str] = {}
    codec_active_key: str = ""
    #: Only for reading or writing plaintext histories on purpose (never in production).
    codec_disabled: bool = False

    #: The codec server the Temporal UI decrypts payloads through (`oms codec-server`).
    codec_server_host: str = "127.0.0.1"
    codec_server_port: int = 8081

    # --- The codec server behind the Temporal UI's OIDC login (workers/oidc.py, docs/ops.md) ---
    #: The identity provider's signing keys (JWKS): an https:// URL, or a file path. Empty:
    #: OIDC off, the codec server takes staff tokens and console sessions only.
    codec_oidc_jwks: str = ""
    #: The access tokens' `iss`, exactly as the provider writes it, and an `aud` they carry.
    codec_oidc_issuer: str = ""
    codec_oidc_audience: str = ""
    #: The claim naming the user's department: `"supervision"`, or a list (e.g. `groups`)
    #: holding `"oms:supervision"`; a dotted name reaches into objects (`realm_access.roles`).
    codec_oidc_department_claim: str = "oms_department"
    #: Clock skew allowed on `exp`, `nbf` and `iat`.
    codec_oidc_leeway_seconds: int = Field(default=30, ge=0, le=300)
    #: How often the keys are fetched again; a token with an unknown key id fetches them at
    #: once, but never sooner than 30 s after the last fetch.
    codec_oidc_jwks_refresh_seconds: int = Field(default=300, ge=30)

    @model_validator(mode="after")
    def _codec_oidc_is_complete(self) -> Settings:
        if self.codec_oidc_jwks and not (
            self.codec_oidc_issuer and self.codec_oidc_audience and self.codec_oidc_department_claim
        ):
            raise ValueError(
                "codec_oidc_jwks is set, so codec_oidc_issuer and codec_oidc_audience must be "
                "set too (OMS_CODEC_OIDC_ISSUER, OMS_CODEC_OIDC_AUDIENCE), and "
                "codec_oidc_department_claim must not be empty"
            )
        return self

    #: The key that makes customer ids opaque where the engine shows them (base64 of 32
    #: random bytes, e.g. `openssl rand -base64 32`); empty: var/customer-ref.key.
    customer_ref_key: str = ""

    # --- Commands the engine can trust (domain/trust.py, config/command_keys.py) ---
    #: Public keys that verify a command's signature, base64 by key id (the workers').
    command_keys: dict[str, str] = {}
    #: The key the API signs commands with, `<id>:<base64 Ed25519 private key>`.
    command_signing_key: str = ""
    #: How far a signed command's time may be from the workflow's clock.
    command_window: timedelta = timedelta(minutes=5)

    @model_validator(mode="after")
    def _workflow_tasks_fit_the_cache(self) -> Settings:
        cached = self.max_cached_workflows
        if cached and self.max_concurrent_workflow_tasks < 2:
            raise ValueError("max_concurrent_workflow_tasks must be 2 or more with a cache")
        if not cached and self.max_concurrent_workflow_tasks != 1:
            raise ValueError(
                "without a workflow cache (max_cached_workflows=0) workflow tasks must run one at "
                "a time: set max_concurrent_workflow_tasks=1"
            )
        return self

    @property
    def command_key_file(self) -> Path:
        return self.var_dir / "command-keys.json"

    def command_key_set(self) -> CommandKeys:
        """The command keys in force: from the settings, or else the key file under var/.
        Empty (no key at all) refuses every signed command: a worker must be given keys."""
        if self.command_keys or self.command_signing_key:
            return CommandKeys.from_settings(self.command_keys, self.command_signing_key)
        return load_command_keys(self.command_key_file) or CommandKeys({})

    @property
    def customer_ref_key_file(self) -> Path:
        return self.var_dir / "customer-ref.key"

    def customer_ref_secret(self) -> bytes:
        """The key of customer refs (domain/personal_data.customer_ref): the setting, or the
        key file under var/ (made, 0600, on first use by the embedded system). Every
        process that starts workflows must use the same key."""
        if self.customer_ref_key:
            return base64.b64decode(self.customer_ref_key)
        return _customer_ref_key_file(self.customer_ref_key_file)

    @property
    def codec_key_file(self) -> Path:
        return self.var_dir / "codec-keys.json"

    def keyring_missing(self) -> bool:
        return not self.codec_disabled and not self.codec_keys and not self.codec_key_file.exists()

    def keyring(self) -> Keyring | None:
        """The payload encryption keys in force; None only when encryption is disabled."""
        if self.codec_disabled:
            return None
        if self.codec_keys:
            return Keyring.from_strings(self.codec_keys, self.codec_active_key)
        keyring = load_key_file(self.codec_key_file)
        if keyring is None:
            raise SystemExit(
                f"no payload encryption key: set OMS_CODEC_KEYS and OMS_CODEC_ACTIVE_KEY, or "
                f"create {self.codec_key_file} with `oms codec new-key`"
            )
        return keyring

    # --- Temporal beyond one machine: TLS / mTLS, Temporal Cloud (README, Production) ---
    #: Use TLS towards the frontend even without the files below (system root CAs).
    temporal_tls: bool = False
    #: mTLS: the client certificate and key (PEM files); with a CA to trust a private server CA.
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    #: The server name the certificate is checked against, when it differs from the address.
    temporal_tls_server_name: str = ""
    #: Temporal Cloud API key (sent as a bearer token; TLS is then on).
    temporal_api_key: str = ""

    # --- Observability ---
    #: `json` (one object per line, with order id and actor) or `text`.
    log_format: Literal["json", "text"] = "json"
    log_level: str = "INFO"
    #: host:port of the worker's Prometheus endpoint (SDK metrics and order counters); empty: off.
    worker_metrics_address: str = ""
    #: When set, the API's `GET /metrics` asks for it as a bearer token (401 without it);
    #: empty keeps /metrics public (on an internal network only). docs/ops.md, "Metrics".
    metrics_token: str = ""
    #: OpenTelemetry traces (workers/tracing.py): `none` (no spans, the default), `console`
    #: (spans as JSON on stdout), `otlp` (OTLP over HTTP; OTEL_EXPORTER_OTLP_* say where).
    tracing_exporter: Literal["none", "console", "otlp"] = "none"

    # --- Audit (P8.1) ---
    #: How long a department has to rectify an audit finding.
    rectification_deadline: timedelta = timedelta(days=14)

    # --- Backups (P6.2) ---
    #: Where backups go: in production a volume mounted from another site. Empty: `var/backups`.
    backup_dir: Path | None = None
    #: How many complete backups to keep; older ones are deleted after a successful backup.
    backup_keep: int = Field(default=14, ge=1)
    #: When the Temporal Schedule runs the backup (cron, UTC): nightly by default.
    backup_cron: str = "30 2 * * *"
    #: The dev server's SQLite file, backed up with the read model. Empty: `var/temporal.db`
    #: when it exists (the embedded system); a production cluster backs up its own PostgreSQL.
    temporal_db_file: Path | None = None

    # --- Backup encryption and token revocations (P6.2, security review; db/backup.py) ---
    #: Backup encryption keys, base64 by key id (a JSON object in the environment), and the
    #: id of the one that encrypts (may stay empty with a single key). Without them the key
    #: file `backup_key_file` is used, created (mode 0600) by the first backup. Either way
    #: the keys stay off the backup volume: keep a copy somewhere else, or the backups are
    #: unreadable once this machine is lost.
    backup_keys: dict[str, str] = {}
    backup_active_key: str = ""
    #: The backup key file of the embedded system. Empty: `var/backup-keys.json`.
    backup_key_file: Path | None = None
    #: Every revocation and rotation of a staff token is appended here (JSON lines, mode
    #: 0600), outside the read model and the backup volume; `oms restore` re-applies it.
    #: Empty: `var/revocations.log`.
    revocation_log: Path | None = None

    @property
    def resolved_backup_key_file(self) -> Path:
        return self.backup_key_file or self.var_dir / "backup-keys.json"

    @property
    def resolved_revocation_log(self) -> Path:
        return self.revocation_log or self.var_dir / "revocations.log"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'oms.db'}"

    @property
    def resolved_backup_dir(self) -> Path:
        return self.backup_dir or self.var_dir / "backups"

    @property
    def resolved_temporal_db_file(self) -> Path | None:
        if self.temporal_db_file is not None:
            return self.temporal_db_file
        embedded = self.var_dir / "temporal.db"
        return embedded if embedded.exists() else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


@lru_cache(maxsize=4)
def _customer_ref_key_file(path: Path) -> bytes:
    """The key file's key, made on first use (read once per process)."""
    if not path.exists():
        write_private(path, base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    return base64.b64decode(path.read_text().strip())
