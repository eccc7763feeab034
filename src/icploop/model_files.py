"""Stored fit models: numbered versions in the workspace, each a folder of files.

``<workspace>/models/fit/v<N>/`` holds ``model.joblib`` (the calibrated model, a pickle: load only
files this workspace wrote), ``points.json`` (the points table, the form the code reads),
``points.csv`` and ``points.yaml`` (the exports for a CRM or a spreadsheet) and ``report.json``
(the time-split evaluation and training facts). Versions are never overwritten; the newest is
used unless another is named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib

from icploop.errors import IcploopError
from icploop.scoring.model import FitModel
from icploop.scoring.points import PointsTable

MODELS_DIR = Path("models") / "fit"


def _root(workspace: Path) -> Path:
    return workspace / MODELS_DIR


def versions(workspace: Path) -> list[str]:
    """Stored version ids, oldest first (``v1``, ``v2``, ...)."""
    root = _root(workspace)
    if not root.exists():
        return []
    found = [p.name for p in root.iterdir() if p.is_dir() and p.name[1:].isdigit()]
    return sorted(found, key=lambda v: int(v[1:]))


def save(workspace: Path, model: FitModel, points: PointsTable, report: dict[str, Any]) -> str:
    """Store a new version; returns its id."""
    existing = versions(workspace)
    version = f"v{int(existing[-1][1:]) + 1 if existing else 1}"
    folder = _root(workspace) / version
    folder.mkdir(parents=True)
    joblib.dump(model, folder / "model.joblib")
    (folder / "points.json").write_text(json.dumps(points.to_dict(), indent=2) + "\n")
    (folder / "points.csv").write_text(points.to_csv())
    (folder / "points.yaml").write_text(points.to_yaml())
    (folder / "report.json").write_text(
        json.dumps({"version": version, **report}, indent=2, default=str) + "\n"
    )
    return version


def folder_of(workspace: Path, version: str | None = None) -> Path:
    """The folder of ``version`` (default the newest); a clear error when there is none."""
    stored = versions(workspace)
    if not stored:
        raise IcploopError(
            "no fit model is stored in this workspace", "run `icploop model train` first"
        )
    chosen = version or stored[-1]
    if chosen not in stored:
        raise IcploopError(f"no fit model version {chosen!r}", f"stored: {', '.join(stored)}")
    return _root(workspace) / chosen


def load(
    workspace: Path, version: str | None = None
) -> tuple[str, FitModel, PointsTable, dict[str, Any]]:
    """(version, model, points table, report) of a stored version."""
    folder = folder_of(workspace, version)
    model = joblib.load(folder / "model.joblib")
    if not hasattr(model, "features_"):
        raise IcploopError(
            f"fit model {folder.name} was stored by an older icploop, before models chose their "
            "features from the workspace's attributes",
            "train a new version: icploop model train",
        )
    points = PointsTable.from_dict(json.loads((folder / "points.json").read_text()))
    report = json.loads((folder / "report.json").read_text())
    return folder.name, model, points, report
