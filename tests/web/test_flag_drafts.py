"""A draft flag is the CSM's work in progress: its author and the CSM's manager see it, the AE
and everyone else only once it is sent, and context is added to sent flags only."""

from __future__ import annotations

from sqlalchemy import select

from icploop.store.models import Flag, Person
from icploop.web.auth import create_token

from .conftest import WebWorld


def _bearer(web: WebWorld, person_id: str) -> dict[str, str]:
    with web.store() as session, session.begin():
        return {"Authorization": f"Bearer {create_token(session, person_id, 't', 'tests')}"}


def test_a_draft_is_seen_by_its_csm_and_their_manager_and_reaches_the_ae_when_sent(
    web: WebWorld,
) -> None:
    client = web.client()
    made = client.post("/api/v1/flags", headers=web.bearer("csm"), json={
        "account_id": web.csm_account, "fit_issue": "icp_mismatch",
        "evidence": "bought for reporting, uses none of it"})  # fmt: skip
    assert made.status_code in (200, 201), made.text
    flag_id = made.json()["id"]
    with web.store() as session:
        flag = session.get(Flag, flag_id)
        assert flag is not None and flag.status == "draft" and flag.ae and flag.csm
        csm = session.get(Person, flag.csm)
        assert csm is not None and csm.manager_id
        ae, manager = flag.ae, csm.manager_id
        other_ae = session.scalars(
            select(Person.person_id).where(Person.role == "ae", Person.person_id != ae)
        ).first()
    assert other_ae is not None
    ae_token, manager_token = _bearer(web, ae), _bearer(web, manager)

    def sees(headers: dict[str, str]) -> bool:
        inbox = {f["id"] for f in client.get("/api/v1/flags", headers=headers).json()["items"]}
        one = client.get(f"/api/v1/flags/{flag_id}", headers=headers).status_code
        assert (one == 200) == (flag_id in inbox)
        return flag_id in inbox

    assert sees(web.bearer("csm")) and sees(manager_token) and sees(web.bearer("admin"))
    assert (
        not sees(ae_token) and not sees(web.bearer("revops")) and not sees(web.bearer("marketing"))
    )
    early = client.post(f"/api/v1/flags/{flag_id}/context", headers=ae_token,
                        json={"text": "they asked for the API on day one"})  # fmt: skip
    assert early.status_code == 404  # not in the AE's inbox yet
    sent = client.post(f"/api/v1/flags/{flag_id}/send", headers=web.bearer("csm"))
    assert sent.status_code == 200, sent.text
    assert sees(ae_token) and sees(web.bearer("revops")) and sees(manager_token)
    other = _bearer(web, other_ae)
    assert not sees(other)  # another AE's deal stays out of their inbox
    noted = client.post(f"/api/v1/flags/{flag_id}/context", headers=ae_token,
                        json={"text": "they asked for the API on day one"})  # fmt: skip
    assert noted.status_code == 200, noted.text
