"""Who is asking: argon2 passwords, signed session cookies with CSRF tokens, and API tokens.

- Passwords are argon2id hashes (argon2-cffi); a plain password is never stored or logged.
- A browser session is a signed cookie (itsdangerous) holding the person id, a CSRF token and a
  fingerprint of the password hash and a session epoch, so changing the password or logging
  out ends every old session of that person (on every browser). The cookie
  is HttpOnly, SameSite=Lax, and Secure over https or when ``ICPLOOP_COOKIE_SECURE=1``.
- Every form carries the session's CSRF token; every unsafe request on a cookie session must
  return it (form field ``csrf_token`` or header ``X-CSRF-Token``).
- Scripts use ``Authorization: Bearer <token>`` on ``/api/v1``; only the token's SHA-256 is kept.
  A token expires (``ICPLOOP_TOKEN_DAYS``, default 90 days, or ``--days``), ends when its person
  is deactivated or changes role (``icploop.store.tokens``), and may be read-only. A password
  change or a logout ends browser sessions, not tokens: list and revoke those with
  ``icploop user tokens`` / ``icploop user revoke`` or on ``/tokens``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from icploop.errors import IcploopError
from icploop.store import Session, tokens
from icploop.store.audit import audit
from icploop.store.database import utcnow
from icploop.store.models import ApiToken, Person
from icploop.store.tokens import token_state
from icploop.web.errors import NotFound

SESSION_COOKIE = "icploop_session"
SESSION_MAX_AGE = 12 * 3600
SECRET_FILE = "secret.key"
MIN_PASSWORD = 10
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3650

_hasher = PasswordHasher()
# verifying against a dummy hash when the user is unknown keeps the timing of both cases alike
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def check_password_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD:
        raise IcploopError(
            f"the password has {len(password)} characters; at least {MIN_PASSWORD} are needed",
            "use a longer passphrase",
        )


def hash_password(password: str) -> str:
    """The argon2id hash of a password (after the strength check)."""
    check_password_strength(password)
    return _hasher.hash(password)


def verify_hash(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the stored hash; with none (an unknown person), a dummy
    hash is checked so both cases cost the same time, and the answer is False."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def load_secret(workspace: Path) -> str:
    """The signing secret: ``ICPLOOP_SECRET_KEY``, else the workspace's ``secret.key`` (made
    once, readable by its owner only). Never kept in the repository."""
    from_env = os.environ.get("ICPLOOP_SECRET_KEY")
    if from_env:
        return from_env
    path = workspace / SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    workspace.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def _fingerprint(person: Person) -> str:
    # the password hash and the session epoch: a new password or a logout ends old sessions
    seed = f"{person.password_hash or ''}|{person.session_epoch or 0}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SessionData:
    """What the session cookie says: the person (None before login) and the CSRF token."""

    person_id: str | None
    csrf: str
    fingerprint: str = ""


class Sessions:
    """Signing and reading session cookies."""

    def __init__(self, secret: str, secure: bool | None = None) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="icploop-session")
        env = os.environ.get("ICPLOOP_COOKIE_SECURE", "") == "1"
        self._secure = env if secure is None else secure

    def read(self, request: Request) -> SessionData | None:
        """The request's session, or None when the cookie is missing, forged or expired."""
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data: dict[str, Any] = self._signer.loads(raw, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        return SessionData(data.get("pid"), str(data.get("csrf", "")), str(data.get("fp", "")))

    def write(self, request: Request, response: Response, data: SessionData) -> None:
        """Set the signed cookie (Secure over https or when configured)."""
        value = self._signer.dumps(
            {"pid": data.person_id, "csrf": data.csrf, "fp": data.fingerprint}
        )
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=SESSION_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=self._secure or request.url.scheme == "https",
            path="/",
        )

    def anonymous(self, request: Request) -> SessionData:
        """The current session, or a new anonymous one (the login form needs a CSRF token)."""
        current = self.read(request)
        return current or SessionData(None, secrets.token_urlsafe(32))

    def login(self, request: Request, response: Response, person: Person) -> None:
        """Start a session for ``person`` with a fresh CSRF token (no session fixation)."""
        data = SessionData(person.person_id, secrets.token_urlsafe(32), _fingerprint(person))
        self.write(request, response, data)

    @staticmethod
    def logout(response: Response, person: Person | None = None) -> None:
        """End the session: drop the cookie and, given the person, raise their session epoch
        so that a copy of the cookie (or another browser's session of theirs) is refused too."""
        if person is not None:
            person.session_epoch = (person.session_epoch or 0) + 1
        response.delete_cookie(SESSION_COOKIE, path="/")


def session_person(session: Session, data: SessionData | None) -> Person | None:
    """The active person a session belongs to, if its password has not changed since login."""
    if data is None or data.person_id is None:
        return None
    person = session.get(Person, data.person_id)
    if person is None or not person.active or not person.password_hash:
        return None
    if not hmac.compare_digest(_fingerprint(person), data.fingerprint):
        return None
    return person


def csrf_ok(data: SessionData | None, supplied: str | None) -> bool:
    """Whether the supplied CSRF token is the session's (constant-time)."""
    if data is None or not data.csrf or not supplied:
        return False
    return hmac.compare_digest(data.csrf, supplied)


def token_hash(token: str) -> str:
    """The SHA-256 the store keeps of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    person_id: str,
    name: str,
    actor: str,
    days: int = DEFAULT_TOKEN_DAYS,
    read_only: bool = False,
) -> str:
    """A new API token for a person, valid for ``days`` days and for their current role only;
    ``read_only`` limits it to what changes nothing. The token itself is returned once and
    never stored."""
    person = session.get(Person, person_id)
    if person is None:
        raise IcploopError(f"no person {person_id!r}", "add them first: icploop user add")
    if not person.active:
        raise IcploopError(f"{person_id} is not active", "reactivate them first")
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise IcploopError(
            f"a token lasts 1 to {MAX_TOKEN_DAYS} days, not {days}", "pass --days within it"
        )
    token = "icp_" + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(
        person_id=person_id,
        token_hash=token_hash(token),
        name=name,
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
        scope="read" if read_only else "full",
        role=person.role,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor=actor,
        action="token.created",
        object_type="api_token",
        object_id=row.id,
        details={"person_id": person_id, "name": name, "days": days, "scope": row.scope},
    )
    return token


def tokens_of(session: Session, person_id: str | None = None) -> list[tuple[ApiToken, str]]:
    """Every token of ``person_id`` (of everyone when None), newest first, with its state
    (:func:`icploop.store.tokens.token_state`)."""
    now = utcnow()
    return [
        (row, token_state(row, session.get(Person, row.person_id), now))
        for row in tokens.tokens(session, person_id)
    ]


def revoke_token(session: Session, token_id: int, actor: str, by: Person | None = None) -> ApiToken:
    """Revoke a token (kept for the audit trail). ``by``: the person asking on the web, who
    must hold the token or be an admin; None from the command line (whoever runs it holds the
    workspace)."""
    row = session.get(ApiToken, token_id)
    if row is None or (by is not None and by.role != "admin" and row.person_id != by.person_id):
        # another person's token is reported like a missing one: ids are not for probing
        raise NotFound(f"no API token {token_id}", "list them with icploop user tokens")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit(session, actor=actor, action="token.revoked", object_type="api_token",
              object_id=token_id, details={"person_id": row.person_id, "reason": "revoked"})  # fmt: skip
    return row


TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=1)


def token_holder(session: Session, header: str | None) -> tuple[Person, ApiToken] | None:
    """The person and token of a bearer token that works (see ``icploop.store.tokens``);
    records when it was last used, to the minute."""
    if not header or not header.lower().startswith("bearer "):
        return None
    digest = token_hash(header[7:].strip())
    row = tokens.by_hash(session, digest)
    if row is None:
        return None
    person = session.get(Person, row.person_id)
    now = utcnow()
    if person is None or token_state(row, person, now) != "active":
        return None
    if row.last_used_at is None or now - row.last_used_at > TOKEN_TOUCH_INTERVAL:
        tokens.record_use(session, row.id, now)
    return person, row
