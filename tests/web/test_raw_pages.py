"""Every web page of the demo company reads as people write numbers: no raw floats, no midnight
timestamps, no "nan", and an unknown value is "-" (with its reason where one is known), never an
en dash. The pages come from the app itself, so a new page joins by itself."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
from fastapi.routing import iter_route_contexts
from jinja2 import Environment

from icploop.web.unknown import known, unknown_mark
from tests.review.test_raw_values import raw_values

from .conftest import WebWorld

#: path values for pages about one thing (the rest is the tagged account of a CSM)
VALUES = {"flag_id": "1", "number": "1", "review_id": "1", "job_id": "1"}
#: GET routes that are not pages people read
NOT_PAGES = {"login_form", "openapi", "static", "swagger_ui_html", "redoc_html"}
#: an en dash standing alone in a cell or a span: an unknown value not in the house style
EN_DASH_UNKNOWN = re.compile(r">\s*–\s*<")
#: the house mark of an unknown value with its reason
UNKNOWN_WITH_REASON = re.compile(r'<span class="unknown" title="[^"]+">-</span>')
HIDDEN = re.compile(r"<svg.*?</svg>|<style>.*?</style>|<script.*?</script>|<[^>]+>", re.S)


def pages(web: WebWorld) -> list[str]:
    """The concrete path of every GET page route (not the API) of the app."""
    out = []
    for route in iter_route_contexts(web.app.routes):
        if route.path_format is None or "GET" not in (route.methods or ()):
            continue
        if route.name in NOT_PAGES or route.path_format.startswith(("/api", "/docs")):
            continue
        fill = lambda m: VALUES.get(m.group(1), web.csm_account)  # noqa: E731
        out.append(re.sub(r"\{(\w+)\}", fill, route.path_format))
    return out


def test_no_web_page_shows_a_raw_value(web: WebWorld) -> None:
    clients = [web.login(role)[0] for role in ("revops", "admin", "sales_manager")]
    read, leaks, reasons = 0, {}, 0
    for path in pages(web):
        for client in clients:  # the first role that may read the page
            response = client.get(path)
            if response.status_code not in (401, 403):
                break
        if response.status_code != 200 or "html" not in response.headers.get("content-type", ""):
            continue
        read += 1
        if found := raw_values(HIDDEN.sub(" ", response.text)):
            leaks[path] = found[:3]
        if EN_DASH_UNKNOWN.search(response.text):
            leaks.setdefault(path, []).append("– for an unknown value")
        reasons += len(UNKNOWN_WITH_REASON.findall(response.text))
    assert leaks == {}
    assert reasons > 0, "unknown values on the demo's pages say why"
    assert read >= 10, "the scan reads the app's pages"


def test_the_unknown_mark_carries_its_reason_escaped() -> None:
    assert unknown_mark() == "-"
    assert unknown_mark('no "AE" <yet>') == (
        '<span class="unknown" title="no &#34;AE&#34; &lt;yet&gt;">-</span>'
    )


def test_a_real_zero_is_shown_and_only_an_absent_value_is_unknown() -> None:
    """``{{ value or unknown(...) }}`` reads a 0 (seats at close, a count) as unknown: pages
    say ``known(value, reason)``, which marks only None, NaN, NA and blank text."""
    env = Environment(autoescape=True)
    env.globals.update(known=known, unknown=unknown_mark)
    seats = env.from_string('seats at close {{ known(n, "not recorded") }}')
    assert seats.render(n=0) == "seats at close 0"
    assert seats.render(n=0.0) == "seats at close 0.0"
    assert seats.render(n="0") == "seats at close 0"
    assert seats.render(n=False) == "seats at close False"
    marked = 'seats at close <span class="unknown" title="not recorded">-</span>'
    for absent in (None, math.nan, pd.NA, "", "  "):
        assert seats.render(n=absent) == marked
    assert env.from_string("{{ known(v) }}").render(v="<b>") == "&lt;b&gt;"
    templates = Path(__file__).resolve().parents[2] / "src" / "icploop" / "web" / "templates"
    for page in sorted(templates.glob("*.html")):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"\bor (unknown\(|0\b|'-'|\"-\")", text), page.name
