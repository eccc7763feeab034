"""The default demo company and its null twin, generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from icploop.demo.generator import generate_company

from .measures import Company, load

SEED = 7


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate_company(out, accounts=5000, seed=SEED)
    return out


@pytest.fixture(scope="session")
def null_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo_null")
    generate_company(out, accounts=5000, seed=SEED, null=True)
    return out


@pytest.fixture(scope="session")
def demo(demo_dir: Path) -> Company:
    return load(demo_dir)


@pytest.fixture(scope="session")
def null(null_dir: Path) -> Company:
    return load(null_dir)
