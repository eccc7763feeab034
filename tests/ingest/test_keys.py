"""Integer account keys: numbered at load, stable across loads, carried by stored usage."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ibis.backends import BaseBackend

from icploop.flags.run import fit_inputs
from icploop.ingest.load import load_paths

USAGE = (
    "account_id,date,feature,events\n"
    "a2,2024-01-03,report,4\na1,2024-01-03,report,2\na2,2024-01-04,export,1\n"
)


def keys_of(backend: BaseBackend) -> dict[str, int]:
    con = backend.con  # type: ignore[attr-defined]
    return dict(con.execute("SELECT account_id, account_key FROM account_keys").fetchall())


def usage_keys(backend: BaseBackend) -> list[tuple[str, int | None]]:
    con = backend.con  # type: ignore[attr-defined]
    return con.execute("SELECT DISTINCT account_id, account_key FROM usage ORDER BY 1").fetchall()


def test_accounts_are_numbered_densely_and_keep_their_key_in_later_loads(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    write("accounts.csv", "account_id,name\nb9,Beta\na1,Acme\n")
    folder = write("usage.csv", USAGE.replace("a2", "b9")).parent
    load_paths(backend, [folder])
    assert keys_of(backend) == {"a1": 1, "b9": 2}
    assert usage_keys(backend) == [("a1", 1), ("b9", 2)]
    load_paths(backend, [folder])  # the same files again: the same keys
    assert keys_of(backend) == {"a1": 1, "b9": 2}
    # a later load's new accounts come after the largest key, whatever their ids
    later = write("accounts.csv", "account_id,name\na0,Zero\nb9,Beta renamed\n", folder="later")
    write("usage.csv", "account_id,date,feature,events\na0,2024-02-01,report,3\n", folder="later")
    load_paths(backend, [later.parent])
    assert keys_of(backend) == {"a1": 1, "b9": 2, "a0": 3}
    assert usage_keys(backend) == [("a0", 3), ("a1", 1), ("b9", 2)]


def test_a_warehouse_stored_before_keys_gains_them_at_its_next_load(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    write("accounts.csv", "account_id,name\na1,Acme\na2,Beta\n")
    load_paths(backend, [write("usage.csv", USAGE).parent])
    con = backend.con  # type: ignore[attr-defined]
    # what a load before integer keys left: no account_keys, usage without account_key
    con.execute("DROP TABLE account_keys")
    con.execute("ALTER TABLE usage DROP COLUMN account_key")
    assert not fit_inputs(backend).keyed  # the fit signals read it by text id meanwhile
    later = write("accounts.csv", "account_id,name\na3,Gamma\n", folder="later")
    # new usage rows go into the table stored without keys: it gains them before they arrive
    write("usage.csv", "account_id,date,feature,events\na3,2024-02-01,report,7\n", folder="later")
    load_paths(backend, [later.parent])
    assert keys_of(backend) == {"a1": 1, "a2": 2, "a3": 3}
    assert usage_keys(backend) == [("a1", 1), ("a2", 2), ("a3", 3)]
    assert fit_inputs(backend).keyed


def test_usage_first_loaded_after_its_accounts_gets_the_keys_they_have(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    load_paths(backend, [write("accounts.csv", "account_id,name\nb9,Beta\na1,Acme\n")])
    # usage arrives first with an account that is new in the same load: the usage file is read
    # straight into its table with keys planned from both
    later = write("accounts.csv", "account_id,name\na0,Zero\n", folder="later")
    write("usage.csv", USAGE.replace("a2", "a0").replace("a1", "b9"), folder="later")
    load_paths(backend, [later.parent])
    assert keys_of(backend) == {"a1": 1, "b9": 2, "a0": 3}
    assert usage_keys(backend) == [("a0", 3), ("b9", 2)]
