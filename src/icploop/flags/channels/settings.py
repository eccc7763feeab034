"""Channel settings from the environment, never from the repository (webhook URLs are secrets)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from icploop.flags.channels.base import Channel

CRM_NOTES_FILE = Path("exports") / "crm_notes.csv"


class ChannelSettings(BaseSettings):
    """Where deliveries go. Every field can be set as ``ICPLOOP_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="ICPLOOP_", extra="ignore")

    webhook_url: SecretStr | None = Field(
        default=None, description="Slack-compatible incoming webhook URL; unset: no webhook"
    )
    webhook_timeout: float = Field(default=10.0, gt=0, description="seconds per webhook call")
    smtp_host: str | None = Field(default=None, description="SMTP server; unset: no email")
    smtp_port: int = Field(default=25, gt=0, lt=65536)
    smtp_from: str = Field(default="icploop@localhost", description="sender address")
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=False, description="upgrade with STARTTLS before login")
    smtp_timeout: float = Field(default=10.0, gt=0)


def configured_channels(settings: ChannelSettings, workspace: Path) -> dict[str, Channel]:
    """The channels the settings make usable, by name; the CRM CSV always is (a workspace file)."""
    from icploop.flags.channels.crm_csv import CrmCsvChannel
    from icploop.flags.channels.email import EmailChannel
    from icploop.flags.channels.webhook import WebhookChannel

    channels: dict[str, Channel] = {"crm_csv": CrmCsvChannel(workspace / CRM_NOTES_FILE)}
    if settings.webhook_url is not None:
        channels["webhook"] = WebhookChannel(
            settings.webhook_url.get_secret_value(), timeout=settings.webhook_timeout
        )
    if settings.smtp_host:
        channels["email"] = EmailChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            user=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )
    return channels
