"""Settings: where a user's state lives and which engines hold it.

Read from the environment (prefix ``ICPLOOP_``), from command-line options and from the
workspace's own settings file (``icploop.toml``, written by ``icploop init`` and by the first
load), never from the repository. The workspace folder holds the analytics database (a DuckDB
file) and the app database (a SQLite file) unless URLs for other backends are given.

Workspace-level settings (the reporting currency, the load memory limit) are remembered in the
settings file; an environment variable still overrides them for one command, and
``Settings.currency_note`` says so when the currencies differ.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from icploop.errors import IcploopError

DEFAULT_WORKSPACE = Path("icploop-workspace")
ANALYTICS_FILE = "analytics.duckdb"
APP_DB_FILE = "app.db"
MEMORY_SIZE = r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$"
"""A DuckDB memory size such as ``2GB`` or ``512MiB``."""
DEFAULT_LOAD_MEMORY = "2GB"
DEFAULT_CURRENCY = "USD"
SETTINGS_FILE = "icploop.toml"
WORKSPACE_KEYS = ("reporting_currency", "load_memory_limit", "base_url")
"""The settings a workspace remembers in its settings file."""
_CURRENCY = r"^[A-Z]{3}$"
_BASE_URL = r"^https?://[^\s/?#]+(/[^\s?#]*)?$"
_CHECKS = {
    "reporting_currency": (_CURRENCY, "an ISO 4217 code such as EUR"),
    "load_memory_limit": (MEMORY_SIZE, "a size such as 2GB"),
    "base_url": (_BASE_URL, "the web app's address such as https://icp.example.com"),
}
DIGEST_CHANNELS = ("webhook", "email")


class Settings(BaseSettings):
    """Where things are. Every field can be set as ``ICPLOOP_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="ICPLOOP_", extra="ignore")

    workspace: Path = Field(default=DEFAULT_WORKSPACE, description="folder of the user's state")
    analytics_url: str | None = Field(
        default=None,
        description="Ibis connection URL of the analytics warehouse; default a DuckDB file in the workspace",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the app store; default a SQLite file in the workspace",
    )
    reporting_currency: str = Field(
        default=DEFAULT_CURRENCY,
        pattern=_CURRENCY,
        description="ISO 4217 code every money figure is converted into at load",
    )
    load_memory_limit: str = Field(
        default=DEFAULT_LOAD_MEMORY,
        pattern=MEMORY_SIZE,
        description="memory DuckDB may use while loading (e.g. 2GB, 512MB); beyond it, "
        "the load's staging tables spill to a temp folder beside the analytics file",
    )

    inbox: Path | None = Field(
        default=None,
        description="folder new exports arrive in, loaded by icploop run (files whose content "
        "was loaded before are skipped)",
    )
    base_url: str | None = Field(
        default=None,
        pattern=_BASE_URL,
        description="the web app's public address (https://icp.example.com): links in "
        "messages are made absolute with it; unset: they stay relative",
    )
    backfill_days: int = Field(
        default=30,
        ge=0,
        le=36500,
        description="icploop run delivers flags about data at most this many days older than "
        "the data's end; older ones are recorded and visible, not delivered",
    )
    digest: str = Field(
        default="webhook,email",
        pattern=r"^((webhook|email)(,(webhook|email))*)?$",
        description="channels that get one digest per run (counts, the top flags, a link to "
        "the inbox) instead of a message per flag: webhook, email, both, or empty for none",
    )
    schedule: str | None = Field(
        default=None,
        description="cron expression (minute hour day month weekday) of the daily run inside "
        "the web app's process; unset: none (see icploop serve --schedule)",
    )

    web_max_active: int = Field(
        default=10,
        ge=1,
        le=200,
        description="requests the web app works on at once (more wait briefly, then get 503); "
        "also the most that may wait for the warehouse",
    )
    web_wait_seconds: float = Field(
        default=1.5,
        gt=0,
        le=300,
        description="seconds a web request waits for the warehouse before it is answered 503",
    )
    web_max_jobs: int = Field(
        default=4,
        ge=1,
        le=100,
        description="heavy requests (scoring uploads, review builds) queued at once; more get 503",
    )
    token_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="days a new API token lasts unless its creator gives --days",
    )

    workspace_currency: str | None = Field(
        default=None,
        exclude=True,
        description="the reporting currency the workspace's settings file records (the "
        "currency its stored figures were converted into); not read from the environment",
    )

    @property
    def digest_channels(self) -> frozenset[str]:
        """The channels in digest mode."""
        return frozenset(c for c in self.digest.split(",") if c)

    @property
    def figures_currency(self) -> str:
        """The currency the stored money figures are in: the workspace's, else the setting's."""
        return self.workspace_currency or self.reporting_currency

    @property
    def currency_note(self) -> str | None:
        """A note when the environment names another currency than the workspace records."""
        if self.workspace_currency is None or self.workspace_currency == self.reporting_currency:
            return None
        return (
            f"ICPLOOP_REPORTING_CURRENCY is {self.reporting_currency} but this workspace's "
            f"reporting currency is {self.workspace_currency}: its figures are in "
            f"{self.workspace_currency}; the next load converts them to {self.reporting_currency}"
        )

    def resolved_analytics_url(self) -> str:
        """The analytics URL, defaulting to ``duckdb://<workspace>/analytics.duckdb``."""
        if self.analytics_url:
            return self.analytics_url
        # the folder resolved, not the file: the file is a link to the current generation
        return f"duckdb://{self.workspace.resolve() / ANALYTICS_FILE}"

    def resolved_database_url(self) -> str:
        """The app-store URL, defaulting to ``sqlite:///<workspace>/app.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.workspace / APP_DB_FILE).resolve()}"


def read_workspace_settings(workspace: Path) -> dict[str, str]:
    """The settings recorded in ``<workspace>/icploop.toml`` (empty when there is no file).

    Raises ``IcploopError`` naming the file (and line) when it is not valid TOML or holds an
    unknown key or an invalid value."""
    path = workspace / SETTINGS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise IcploopError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise IcploopError(
            f"{path}: not valid TOML ({exc})", "fix the file or run icploop init"
        ) from None
    unknown = sorted(set(data) - set(WORKSPACE_KEYS))
    if unknown:
        raise IcploopError(
            f"{path}: unknown setting(s) {', '.join(unknown)}",
            f"a workspace records {', '.join(WORKSPACE_KEYS)}",
        )
    for key, value in data.items():
        _check_value(key, value, str(path))
    return {k: str(v) for k, v in data.items()}


def _check_value(key: str, value: Any, where: str) -> None:
    pattern, example = _CHECKS[key]
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise IcploopError(f"{where}: {key} = {value!r} is not valid", f"use {example}")


def existing_workspace(workspace: Path) -> Path:
    """``workspace``, when the folder exists; a command that only reads refuses a missing one
    rather than leave an empty folder behind."""
    if not workspace.is_dir():
        raise IcploopError(
            f"there is no workspace at {workspace}",
            "check --workspace (or ICPLOOP_WORKSPACE); icploop init or icploop load makes one",
        )
    return workspace


def write_workspace_settings(workspace: Path, **values: str) -> dict[str, str]:
    """Record ``values`` (keys of ``WORKSPACE_KEYS``) in the workspace's settings file, keeping
    the others; creates the workspace folder. Returns the settings now recorded."""
    recorded = read_workspace_settings(workspace)
    for key, value in values.items():
        if key not in WORKSPACE_KEYS:
            raise IcploopError(f"unknown workspace setting {key!r}")
        _check_value(key, value, key)
        recorded[key] = value
    workspace.mkdir(parents=True, exist_ok=True)
    # flat string values checked against their patterns: JSON quoting is valid TOML here
    lines = [f"{k} = {json.dumps(recorded[k])}" for k in WORKSPACE_KEYS if k in recorded]
    (workspace / SETTINGS_FILE).write_text(
        "# icploop workspace settings (written by icploop init and the first load; base_url by\n"
        "# hand: the web app's address, for absolute links in messages)\n"
        + "\n".join(lines)
        + "\n",
        encoding="utf-8",
    )
    return recorded


def load_settings(workspace: Path | None = None) -> Settings:
    """Settings from the environment, then the workspace's settings file for what the
    environment leaves unset; an explicit ``workspace`` takes precedence."""
    settings = Settings()
    if workspace is not None:
        settings = settings.model_copy(update={"workspace": workspace})
    recorded = read_workspace_settings(settings.workspace)
    update: dict[str, Any] = {
        k: v for k, v in recorded.items() if k not in settings.model_fields_set
    }
    update["workspace_currency"] = recorded.get("reporting_currency")
    return settings.model_copy(update=update)
