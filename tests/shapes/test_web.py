"""Every page and API read of the web app on every data shape: an answer or a clear refusal,
never a server error, a traceback or "NaN".

The routes come from the app itself, so a new page or API read joins by itself; a path value it
needs that ``VALUES`` does not name is the shape's first account.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts

from icploop.config import Settings
from icploop.generations import open_analytics
from tests.surfaces.conftest import Surfaces, _serve

from .conftest import SHAPES, Shape
from .test_commands import CUT, FROM_ABSENT, NAN, REFUSED

#: path values: ids of things a fresh workspace may not have (a refusal is the answer then)
VALUES = {"flag_id": "1", "number": "1", "review_id": "1", "job_id": "1"}
#: GET routes not read here, and why
NOT_READ = {"login_form": "the login page itself", "openapi": "the schema, no data"}


def _first_account(shape: Shape) -> str:
    backend = open_analytics(Settings(workspace=shape.workspace))
    try:
        frame = backend.table("accounts").order_by("account_id").limit(1).to_pandas()
    finally:
        backend.disconnect()
    return str(frame["account_id"][0])


def reads(app: Any, account: str) -> list[tuple[str, str]]:
    """(route name, concrete path) of every GET route of the app."""
    out = []
    for route in iter_route_contexts(app.routes):
        if route.path_format is None or "GET" not in (route.methods or ()):
            continue
        if route.name in NOT_READ or route.name == "static":
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: VALUES.get(m.group(1), account), route.path_format)
        out.append((str(route.name), path))
    return out


@pytest.fixture(scope="module")
def served(
    shapes: Callable[[str], Shape], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], tuple[Surfaces, str]]]:
    """The web app over a copy of a shape's workspace (built once per shape), and an account."""
    running: dict[str, tuple[Surfaces, str]] = {}
    stops = []

    def serve(name: str) -> tuple[Surfaces, str]:
        if name not in running:
            shape = shapes(name)
            workspace: Path = tmp_path_factory.mktemp(f"served-{name}")
            server = _serve(shape.workspace / "analytics.duckdb", workspace)
            running[name] = (next(server), _first_account(shape))
            stops.append(server)
        return running[name]

    yield serve
    for server in stops:
        server.close()


@pytest.mark.parametrize(
    "shape",
    # a shape whose load is refused has nothing to serve (test_load checks its refusal)
    [
        pytest.param(s, marks=[] if s in CUT else [pytest.mark.matrix])
        for s in SHAPES
        if s not in REFUSED
    ],
)
def test_every_read_answers(
    served: Callable[[str], tuple[Surfaces, str]], shapes: Callable[[str], Shape], shape: str
) -> None:
    surfaces, account = served(shape)
    # the labels of figures only the tables this shape lacks could give
    from_absent = [label for table, label in FROM_ABSENT.items() if table in shapes(shape).absent]
    client = surfaces.logged_in()
    headers = {"Authorization": f"Bearer {surfaces.token}"}
    found = []
    for name, path in reads(client.app, account):
        response = client.get(path, headers=headers if path.startswith("/api/") else None)
        text = response.text
        if response.status_code >= 500 or "Traceback" in text:
            found.append(f"{name} {path}: {response.status_code} {text[:300]}")
        elif hit := NAN.search(re.sub(r"<script.*?</script>", "", text, flags=re.S)):
            found.append(f"{name} {path}: '{hit.group()}' in the answer")
        elif any(label.search(text) for label in from_absent):
            found.append(f"{name} {path}: a figure from a table this workspace does not have")
        elif response.status_code >= 400 and path.startswith("/api/"):
            error = response.json().get("error", {})
            if not error.get("message") or "\n" in error["message"]:
                found.append(f"{name} {path}: {response.status_code} without a one-line message")
    assert not found, "\n".join(found)
