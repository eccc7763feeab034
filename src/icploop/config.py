"""Settings: where a user's state lives and which engines hold it.

Read from the environment (prefix ``ICPLOOP_``) and from command-line options, never from the
repository. The workspace folder holds the analytics database (a DuckDB file) and the app
database (a SQLite file) unless URLs for other backends are given.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_WORKSPACE = Path("icploop-workspace")
ANALYTICS_FILE = "analytics.duckdb"
APP_DB_FILE = "app.db"
MEMORY_SIZE = r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$"
"""A DuckDB memory size such as ``2GB`` or ``512MiB``."""
DEFAULT_LOAD_MEMORY = "2GB"


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
    reporting_currency: str = Field(default="USD", min_length=3, max_length=3)
    load_memory_limit: str = Field(
        default=DEFAULT_LOAD_MEMORY,
        pattern=MEMORY_SIZE,
        description="memory DuckDB may use while loading (e.g. 2GB, 512MB); beyond it, "
        "the load's staging tables spill to a temp folder beside the analytics file",
    )

    def resolved_analytics_url(self) -> str:
        """The analytics URL, defaulting to ``duckdb://<workspace>/analytics.duckdb``."""
        if self.analytics_url:
            return self.analytics_url
        return f"duckdb://{(self.workspace / ANALYTICS_FILE).resolve()}"

    def resolved_database_url(self) -> str:
        """The app-store URL, defaulting to ``sqlite:///<workspace>/app.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.workspace / APP_DB_FILE).resolve()}"


def load_settings(workspace: Path | None = None) -> Settings:
    """Settings from the environment, with an explicit ``workspace`` taking precedence."""
    settings = Settings()
    if workspace is not None:
        settings = settings.model_copy(update={"workspace": workspace})
    return settings
