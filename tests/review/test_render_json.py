"""The JSON pack is valid JSON: an unknown number is null, never NaN (which JSON has not)."""

from __future__ import annotations

import json
import math

from icploop.review.render import render_json


def test_unknown_numbers_are_null_at_any_depth() -> None:
    pack = {
        "hypothesis": {"strata": [{"churned_mean": math.nan, "retained_mean": 1.5}]},
        "ratios": (math.inf, -math.inf, 0.25),
        "name": "NaN",
    }
    text = render_json(pack)
    assert "NaN" not in text.replace('"NaN"', "")
    assert "Infinity" not in text
    back = json.loads(text)
    assert back["hypothesis"]["strata"][0] == {"churned_mean": None, "retained_mean": 1.5}
    assert back["ratios"] == [None, None, 0.25]
    assert back["name"] == "NaN"
