"""The pysubgroup side of the segment benchmark; runs in its own environment (numpy < 2).

    python pysubgroup_peer.py SPEC.json

SPEC names a CSV of accounts, the outcome column, the categorical attributes, the numeric cuts
icploop used, the quality exponent a, depth, minimum support and result size. The search
space is the same as icploop's: one equality selector per categorical value (the columns are
cast to category, since pysubgroup skips integer-coded columns otherwise), and ``x < cut`` /
``x >= cut`` interval selectors at icploop's cuts. Quality: StandardQF(a), which is
``(n/N)^a (p - p0)``. Prints one JSON line: seconds (search only), peak and data RSS in MiB,
and the top segments as lists of condition labels written the way icploop writes them.

pysubgroup may also conjoin two cuts of one numeric attribute (an interval, or a cut that
repeats another); icploop never does, so such conjunctions are asked for in excess and dropped
before the top ``k`` is taken.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pysubgroup as ps


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def number(x: float) -> str:
    """As icploop's ``format_number``."""
    return f"{x:g}" if abs(x) < 1e6 else f"{x:.3g}"


def label(sel: Any) -> str:
    if isinstance(sel, ps.IntervalSelector):
        if math.isinf(sel.lower_bound):
            return f"{sel.attribute_name} < {number(sel.upper_bound)}"
        return f"{sel.attribute_name} >= {number(sel.lower_bound)}"
    return f"{sel.attribute_name} = {sel.attribute_value}"


def limit_memory() -> float:
    """Cap the address space at 70% of RAM (16 GiB at most), so a search that outgrows the
    machine fails with MemoryError instead of swapping it to a halt; the cap in GiB."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    cap = int(min(0.7 * ram, 16 * 2**30))
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    return cap / 2**30


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    cap_gib = limit_memory()
    categorical = spec["categorical"]
    data = pd.read_csv(spec["csv"], dtype={c: str for c in categorical})
    for c in categorical:
        data[c] = data[c].astype("category")
    data_mib = rss_mib()
    selectors: list[Any] = []
    for c in categorical:
        selectors += [ps.EqualitySelector(c, v) for v in data[c].cat.categories]
    for name, cuts in spec["cuts"].items():
        for cut in cuts:
            selectors.append(ps.IntervalSelector(name, -math.inf, cut))
            selectors.append(ps.IntervalSelector(name, cut, math.inf))
    k = spec["k"]
    task = ps.SubgroupDiscoveryTask(
        data,
        ps.BinaryTarget(spec["outcome"], 1),
        selectors,
        result_set_size=k * 5,
        depth=spec["depth"],
        qf=ps.StandardQF(spec["a"]),
        constraints=[ps.MinSupportConstraint(spec["min_support"])],
    )
    t0 = time.perf_counter()
    try:
        result = ps.Apriori().execute(task)
    except MemoryError:
        seconds = time.perf_counter() - t0
        error = f"out of memory at the {cap_gib:.0f} GiB cap after {seconds:.0f} s"
        print(json.dumps({"error": error, "data_mib": data_mib}))
        return 0
    seconds = time.perf_counter() - t0
    top = []
    for quality, sg, _ in sorted(result.results, key=lambda r: -r[0]):
        sels = list(sg.selectors)
        if len({s.attribute_name for s in sels}) < len(sels):
            continue
        top.append({"conditions": sorted(label(s) for s in sels), "quality": float(quality)})
        if len(top) == k:
            break
    print(json.dumps({"seconds": seconds, "peak_mib": rss_mib(), "data_mib": data_mib, "top": top}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
