"""Contacts over time (champions, role changes, departures) and the notes people write.

The champion is contact 0 of each account. A departure ends the champion's only or last row and
is followed, while the account still pays, by a new champion a month or two later. Churn-reason
notes carry a tagged ``reason_code`` most of the time and free text always; sales notes at close
sometimes record an objection that later returns as the churn reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from icploop.demo import dates as D
from icploop.demo import vocab as V
from icploop.demo.activity import active_end
from icploop.demo.writer import masked, pick

Arr = NDArray[Any]
DAY = np.timedelta64(1, "D")


def _days(x: Arr) -> Arr:
    return np.asarray(x, dtype=np.int64).astype("timedelta64[D]")


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def contacts(
    idx: Arr, ids: pa.Array, c: dict[str, Arr], life: dict[str, Arr], rng: np.random.Generator
) -> dict[str, Any]:
    """Contact rows of a chunk of customers."""
    n = len(idx)
    close = c["close"][idx]
    start = close - _days(rng.integers(0, 60, n))
    departed = life["departed"][idx]
    dep = life["dep_date"][idx]
    change_at = close + _days(rng.integers(120, 700, n))
    role_change = (rng.random(n) < 0.12) & (change_at <= D.AS_OF) & (~departed | (change_at < dep))
    title0 = rng.integers(0, 3, n)  # champions hold operational roles
    title1 = rng.integers(0, len(V.CONTACT_TITLES), n)
    cols: dict[str, list[Any]] = {k: [] for k in ("acc", "num", "title", "champ", "from", "to")}

    def add(rows: Arr, num: Arr | int, title: Arr, champ: bool, frm: Arr, to: Arr) -> None:
        cols["acc"].append(rows)
        cols["num"].append(np.broadcast_to(num, rows.shape))
        cols["title"].append(title)
        cols["champ"].append(np.full(len(rows), champ))
        cols["from"].append(frm)
        cols["to"].append(to)

    nat = np.datetime64("NaT", "D")
    every = np.arange(n)
    first_end = np.where(role_change, change_at - DAY, np.where(departed, dep, nat))
    add(every, 0, title0, True, start, first_end)
    rc = np.flatnonzero(role_change)
    add(rc, 0, title1[rc], True, change_at[rc], np.where(departed[rc], dep[rc], nat))
    # a successor champion while the account still pays
    succ_from = dep + _days(rng.integers(30, 90, n))
    has_succ = departed & (succ_from <= np.minimum(active_end(c, life, idx), D.AS_OF))
    sr = np.flatnonzero(has_succ)
    add(sr, 9, title1[sr], True, succ_from[sr], np.full(len(sr), nat))
    others = 1 + rng.binomial(3, 0.4, n)
    for k in range(1, 5):
        rows = np.flatnonzero(others >= k)
        leave = close[rows] + _days(rng.integers(60, 1500, len(rows)))
        gone = (rng.random(len(rows)) < 0.10) & (leave <= D.AS_OF)
        add(
            rows,
            k,
            rng.integers(0, len(V.CONTACT_TITLES), len(rows)),
            False,
            start[rows],
            np.where(gone, leave, nat),
        )
    acc = np.concatenate(cols["acc"])
    num = np.concatenate(cols["num"])
    frm = np.concatenate(cols["from"])
    order = np.lexsort((frm, num, acc))
    acc, num, frm = acc[order], num[order], frm[order]
    to = np.concatenate(cols["to"])[order]
    acc_ids = ids.take(pa.array(acc))
    person = (idx[acc] * 7 + num * 13) % (len(V.FIRST_NAMES) * len(V.LAST_NAMES))
    return {
        "contact_id": _join(acc_ids, "-c", pc.cast(pa.array(num), pa.string())),
        "account_id": acc_ids,
        "name": _join(
            pick(V.FIRST_NAMES, person % len(V.FIRST_NAMES)),
            " ",
            pick(V.LAST_NAMES, person // len(V.FIRST_NAMES)),
        ),
        "title": pick(V.CONTACT_TITLES, np.concatenate(cols["title"])[order]),
        "is_champion": np.concatenate(cols["champ"])[order],
        "valid_from": frm,
        "valid_to": masked(np.where(np.isnat(to), frm, to), np.isnat(to)),
    }


_CHURN_TEXTS = tuple(
    t.replace("{crm}", crm)
    for r in V.CHURN_REASONS
    for t in V.CHURN_TEXT[r]
    for crm in V.CRM_SYSTEMS
)
_CHURN_OFFSET = np.cumsum(
    [0] + [len(V.CHURN_TEXT[r]) * len(V.CRM_SYSTEMS) for r in V.CHURN_REASONS]
)
_N_TEMPLATES = np.array([len(V.CHURN_TEXT[r]) for r in V.CHURN_REASONS])


def notes(
    idx: Arr,
    ids: pa.Array,
    c: dict[str, Arr],
    life: dict[str, Arr],
    csm_ids: list[str],
    ae_ids: list[str],
    rng: np.random.Generator,
    null: bool,
) -> dict[str, Any]:
    """Churn-reason, CSM and sales notes of a chunk of customers."""
    n = len(idx)
    end = active_end(c, life, idx)
    reason = life["reason"][idx]
    crm = c["crm"][idx]
    # churn reasons, on the day service ends
    ch = np.flatnonzero(life["churned"][idx])
    tagged = rng.random(len(ch)) < 0.85
    tpl = rng.integers(0, 1 << 20, len(ch)) % _N_TEMPLATES[reason[ch]]
    text_i = _CHURN_OFFSET[reason[ch]] + tpl * len(V.CRM_SYSTEMS) + crm[ch]
    generic = rng.random(len(ch)) < 0.05
    churn_text = pa.array([*_CHURN_TEXTS, V.UNTAGGED_CHURN_TEXT[0]])
    text_i = np.where(generic, len(_CHURN_TEXTS), text_i)
    # CSM check-ins every four months of paid life
    life_m = life["life"][idx]
    obs = np.minimum(life_m, D.N_MONTHS - 1 - c["month"][idx])
    k = np.maximum((obs - 3) // 4 + 1, 0)
    ca = np.repeat(np.arange(n), k)
    cm = 2 + 4 * (np.arange(len(ca)) - np.repeat(np.cumsum(k) - k, k))
    cdate = D.anchored(c["month"][idx][ca] + cm, c["anchor_day"][idx][ca])
    stalled = life["stalled"][idx][ca]
    ctext = np.where(stalled, 0, 3) + rng.integers(0, 3, len(ca))
    # sales note at close; the integration objection returns as a churn reason
    mi = reason == V.CHURN_REASONS.index("missing_integration")
    objection_p = np.where(life["churned"][idx] & mi, 0.6, 0.08) if not null else np.full(n, 0.12)
    objection = rng.random(n) < objection_p
    stext = np.where(objection, 3 + crm, rng.integers(0, 3, n))
    sales_texts = V.SALES_TEXT + tuple(V.SALES_OBJECTION_TEXT.format(crm=x) for x in V.CRM_SYSTEMS)

    acc = np.concatenate([ch, ca, np.arange(n)])
    kind = np.concatenate([np.zeros(len(ch), int), np.ones(len(ca), int), np.full(n, 2)])
    seq = np.concatenate([np.zeros(len(ch), int), np.arange(len(ca)), np.zeros(n, int)])
    csm = pa.array(csm_ids).take(pa.array(c["csm"][idx][acc[: len(ch) + len(ca)]]))
    author = pa.concat_arrays([csm, pa.array(ae_ids).take(pa.array(c["ae"][idx]))])
    code = np.concatenate([reason[ch], np.zeros(len(ca) + n, int)])
    code_mask = np.concatenate([~tagged | generic, np.ones(len(ca) + n, bool)])
    acc_ids = ids.take(pa.array(acc))
    return {
        "note_id": _join(
            "N", acc_ids, "-", pick(("r", "c", "s"), kind), pc.cast(pa.array(seq), pa.string())
        ),
        "account_id": acc_ids,
        "date": np.concatenate([end[ch] + DAY, cdate, c["close"][idx]]),
        "author": author,
        "kind": pick(("churn_reason", "csm_note", "sales_note"), kind),
        "reason_code": masked(np.asarray(V.CHURN_REASONS)[code], code_mask),
        "text": pa.concat_arrays(
            [
                churn_text.take(pa.array(text_i)),
                pick(V.CSM_TEXT_STALLED + V.CSM_TEXT_GOOD, ctext),
                pick(sales_texts, stext),
            ]
        ),
    }
