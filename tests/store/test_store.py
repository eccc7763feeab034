"""The app store on SQLite and PostgreSQL: migrations, history-keeping tags, the outbox's guarantee."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from icploop.store.database import migrate, utcnow
from icploop.store.models import ApiToken, Base, Delivery, FitSignal, FitTag, Flag


def test_migrations_create_every_table_of_the_models(store_engine: Engine) -> None:
    migrate(store_engine)
    tables = set(inspect(store_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_the_migrations_describe_exactly_the_models(store_engine: Engine) -> None:
    """A model change without a migration would make a workspace's schema drift: forbid it."""
    migrate(store_engine)
    with store_engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_migrating_twice_changes_nothing(store_engine: Engine) -> None:
    migrate(store_engine)
    migrate(store_engine)
    with store_engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == _head()


def _tag(account: str = "A1") -> FitTag:
    return FitTag(
        account_id=account,
        tag="bad_fit",
        computed_tag="bad_fit",
        method="computed",
        as_of=dt.date(2026, 10, 31),
        created_by="fit-run",
        created_at=utcnow(),
        signals=[
            FitSignal(
                name="core_use_case_active",
                computed_value="bad",
                value="bad",
                evidence={"active_days": 0},
            ),
        ],
    )


def test_a_tag_keeps_its_signals_and_their_evidence(store_engine: Engine) -> None:
    migrate(store_engine)
    with Session(store_engine) as session, session.begin():
        session.add(_tag())
    with Session(store_engine) as session:
        stored = session.scalars(select(FitTag)).one()
        assert stored.signals[0].evidence == {"active_days": 0}
        assert stored.created_at.tzinfo is not None or store_engine.dialect.name == "sqlite"


def test_the_outbox_refuses_a_second_delivery_of_one_flag_to_one_recipient(
    store_engine: Engine,
) -> None:
    migrate(store_engine)
    with Session(store_engine) as session, session.begin():
        flag = Flag(
            account_id="A1",
            fit_issue="icp_mismatch",
            evidence="Seats 12 < floor 75.",
            created_by="csm.a",
            created_at=utcnow(),
        )
        session.add(flag)
        session.flush()
        flag_id = flag.id
        session.add(
            Delivery(
                flag_id=flag_id,
                recipient="ae.b",
                recipient_role="ae",
                channel="webhook",
                next_attempt_at=utcnow(),
            )
        )
    with pytest.raises(IntegrityError), Session(store_engine) as session, session.begin():
        session.add(
            Delivery(
                flag_id=flag_id,
                recipient="ae.b",
                recipient_role="ae",
                channel="webhook",
                next_attempt_at=utcnow(),
            )
        )


def test_upgrading_an_older_workspace_keeps_its_data(store_engine: Engine) -> None:
    """A store created at the first schema, holding a tag, is migrated, never rebuilt."""
    migrate(store_engine, "0001")
    with Session(store_engine) as session, session.begin():
        session.add(_tag("OLD-1"))
    migrate(store_engine)
    with store_engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == _head()
    with Session(store_engine) as session:
        kept = session.scalars(select(FitTag)).one()
        assert kept.account_id == "OLD-1" and kept.signals[0].evidence == {"active_days": 0}
    assert "icp_versions" in inspect(store_engine).get_table_names()


def _head() -> str:
    from alembic.script import ScriptDirectory

    from icploop.store.database import alembic_config

    head = ScriptDirectory.from_config(alembic_config(None)).get_current_head()  # type: ignore[arg-type]
    assert head is not None
    return head


def test_tokens_made_before_expiry_existed_expire_90_days_after_they_were_made(
    store_engine: Engine,
) -> None:
    from sqlalchemy import text

    migrate(store_engine, "0005")
    made = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)
    with store_engine.begin() as con:
        con.execute(text("INSERT INTO people (person_id, role, active, source, created_at, "
                         "session_epoch) VALUES ('ops', 'revops', true, 'admin', :at, 0)"),
                    {"at": made})  # fmt: skip
        con.execute(text("INSERT INTO api_tokens (person_id, token_hash, name, created_at) "
                         "VALUES ('ops', 'h', 'old', :at)"), {"at": made})  # fmt: skip
    migrate(store_engine)
    with Session(store_engine) as session:
        row = session.scalars(select(ApiToken)).one()
    assert row.expires_at == made + dt.timedelta(days=90)
    assert (row.scope, row.role) == ("full", "revops")
