"""Flagger credibility: flags per CSM and the share borne out by churn or contraction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from icploop.flags.credibility import (
    FlaggedAccount,
    flagger_credibility,
    score_flaggers,
    verdict,
)
from icploop.flags.records import create_flag, send_flag
from icploop.flags.routing import RoutingRules
from icploop.metrics.calendar import add_months
from icploop.store.models import FitTag

from .conftest import NOW

AS_OF = dt.date(2026, 11, 1)


def test_a_hand_made_case_gives_one_borne_out_one_not_and_one_pending(session: Session) -> None:
    """csm.one flags three accounts:

    - A, flagged 2025-01-15, contracted 2025-09-01 (7.5 months later): borne out;
    - B, flagged 2025-02-01, no churn or contraction by 2026-02-01: not borne out;
    - C, flagged 2026-06-01, window open until 2027-06-01 and no outcome yet: pending.
    Share borne out = 1 / (1 + 1) decided = 0.5; the pending flag is not counted as wrong.
    """
    for account, sent in (("A", "2025-01-15"), ("B", "2025-02-01"), ("C", "2026-06-01")):
        flag = create_flag(
            session,
            account_id=account,
            fit_issue="use_case_mismatch",
            evidence="Core use case unused.",
            fit_tag_id=None,
            ae="ae.one",
            csm="csm.one",
            links=None,
            actor="csm.one",
        )
        at = dt.datetime.fromisoformat(sent).replace(hour=10, tzinfo=dt.UTC)
        send_flag(session, flag.id, "csm.one", RoutingRules(), at)
    session.commit()
    # B contracted, but 14 months after its flag: outside the window
    outcomes = {"A": dt.date(2025, 9, 1), "B": dt.date(2026, 4, 1)}
    [record] = flagger_credibility(session, outcomes, AS_OF)
    assert (record.flagger, record.flags) == ("csm.one", 3)
    assert (record.borne_out, record.not_borne_out, record.pending) == (1, 1, 1)
    assert record.borne_out_share == 0.5


def test_an_outcome_inside_an_open_window_bears_the_flag_out_early() -> None:
    assert verdict(dt.date(2026, 6, 1), dt.date(2026, 8, 1), AS_OF) == "borne_out"
    assert verdict(dt.date(2026, 6, 1), dt.date(2026, 12, 1), AS_OF) == "pending"
    assert verdict(dt.date(2025, 6, 1), dt.date(2025, 5, 1), AS_OF) == "not_borne_out"


def test_a_csm_who_flags_everything_shows_a_low_share() -> None:
    flags = [FlaggedAccount("csm.busy", f"X{i}", dt.date(2025, 1, 1)) for i in range(10)]
    flags.append(FlaggedAccount("csm.careful", "Y", dt.date(2025, 1, 1)))
    outcomes = {"X0": dt.date(2025, 6, 1), "Y": dt.date(2025, 3, 1)}
    busy, careful = score_flaggers(flags, outcomes, AS_OF)
    assert (busy.flagger, busy.flags, busy.borne_out_share) == ("csm.busy", 10, 0.1)
    assert (careful.flags, careful.borne_out_share) == (1, 1.0)


def test_no_decided_flags_means_no_share_yet() -> None:
    [record] = score_flaggers([FlaggedAccount("csm.new", "Z", dt.date(2026, 9, 1))], {}, AS_OF)
    assert record.pending == 1 and record.borne_out_share is None


def test_twelve_months_after_the_end_of_january_is_the_end_of_january() -> None:
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2025, 3, 15), 12) == dt.date(2026, 3, 15)


def test_a_window_reaching_past_the_revenue_data_stays_pending() -> None:
    """Flagged 1 Nov 2025, judged on 1 Jan 2027 but with revenue known only to 31 Oct 2026:
    the 12-month window (to 1 Nov 2026) is not covered by data, so the flag is pending."""
    from icploop.flags.credibility import verdict

    flagged = dt.date(2025, 11, 1)
    assert verdict(flagged, None, dt.date(2027, 1, 1)) == "not_borne_out"
    assert (
        verdict(flagged, None, dt.date(2027, 1, 1), known_until=dt.date(2026, 10, 31)) == "pending"
    )
    assert (
        verdict(
            flagged, dt.date(2026, 3, 1), dt.date(2027, 1, 1), known_until=dt.date(2026, 10, 31)
        )
        == "borne_out"
    )


def _tag(session: Session, account: str, tag: str, close: dt.date) -> FitTag:
    row = FitTag(account_id=account, tag=tag, computed_tag=tag, method="computed",
                 close_date=close, as_of=dt.date(2026, 10, 31), created_by="fit-run",
                 created_at=NOW)  # fmt: skip
    session.add(row)
    session.flush()
    return row


def test_claims_are_dated_at_their_data_and_each_csm_who_overrides_counts(
    session: Session,
) -> None:
    """A backfilled flag about a deal whose day 90 was 2024-04-01 is judged on 2024-2025, not
    on the day it was recorded; csm.two overrode D into bad fit (it contracted: borne out) and
    E out of it (it contracted: not borne out); a move from near to strong claims nothing."""
    d_close, e_close = dt.date(2024, 1, 2), dt.date(2024, 3, 1)
    flag = create_flag(session, account_id="A", fit_issue="icp_mismatch", evidence="Too small.",
                       fit_tag_id=None, ae=None, csm="csm.one", links=None, actor="fit-run",
                       now=NOW)  # fmt: skip
    flag.status, flag.data_date = "recorded", dt.date(2024, 4, 1)
    for account, computed, overridden, close in (
        ("D", "near_fit", "bad_fit", d_close),
        ("E", "bad_fit", "near_fit", e_close),
        ("F", "near_fit", "strong_fit", e_close),
    ):
        old = _tag(session, account, computed, close)
        old.current = False
        new = _tag(session, account, overridden, close)
        new.method, new.created_by, new.supersedes_id = "override", "csm.two", old.id
    session.commit()
    outcomes = {"A": dt.date(2024, 9, 1), "D": dt.date(2024, 10, 1), "E": dt.date(2024, 8, 1)}
    csm_two, fit_run = flagger_credibility(session, outcomes, AS_OF)
    assert (fit_run.flagger, fit_run.flags, fit_run.borne_out, fit_run.pending) == (
        "fit-run", 1, 1, 0,
    )  # fmt: skip
    assert (csm_two.flagger, csm_two.flags, csm_two.overrides) == ("csm.two", 2, 2)
    assert (csm_two.borne_out, csm_two.not_borne_out, csm_two.pending) == (1, 1, 0)
    # without outcomes: A and D not borne out, E (it did not decline) borne out
    quiet, _ = flagger_credibility(session, {}, AS_OF)
    assert (quiet.borne_out, quiet.not_borne_out) == (1, 1)
