from pathlib import Path

import pytest

from icploop.errors import IcploopError
from icploop.ingest.mapping import load_preset, parse_mapping, preset_names


def test_a_mapping_with_shorthand_and_transforms_parses_into_strict_models() -> None:
    m = parse_mapping(
        "tables:\n"
        "  - table: deals\n"
        "    files: '*.csv'\n"
        "    columns:\n"
        "      deal_id: Record ID\n"
        "      outcome: {column: Stage, values: {Closed Won: won}, otherwise: open}\n"
    )
    entry = m.tables[0]
    assert entry.files == ["*.csv"]
    assert entry.columns["deal_id"].column == "Record ID"
    assert entry.columns["outcome"].otherwise == "open"


def test_an_unknown_canonical_column_is_an_error_naming_the_file_and_line() -> None:
    text = "tables:\n  - table: deals\n    files: x.csv\n    columns:\n      deal_idd: Id\n"
    with pytest.raises(IcploopError) as err:
        parse_mapping(text, "my.yaml")
    assert "my.yaml, line 2" in err.value.message
    assert "deals has no column 'deal_idd'" in err.value.message


def test_an_unknown_table_is_an_error_naming_the_line() -> None:
    text = "tables:\n  - table: deels\n    files: x.csv\n"
    with pytest.raises(IcploopError, match=r"line 2.*unknown table 'deels'"):
        parse_mapping(text, "m.yaml")


def test_an_unknown_key_in_a_column_spec_is_an_error_with_its_line() -> None:
    text = "tables:\n  - table: deals\n    files: x.csv\n    columns:\n      deal_id: {column: Id, divde_by: 2}\n"
    with pytest.raises(IcploopError, match="line 5"):
        parse_mapping(text, "m.yaml")


def test_invalid_yaml_is_an_icploop_error() -> None:
    with pytest.raises(IcploopError, match="not valid YAML"):
        parse_mapping("tables: [\n", "m.yaml")


def test_extra_keep_is_refused_outside_accounts() -> None:
    with pytest.raises(IcploopError, match="only for accounts"):
        parse_mapping("tables:\n  - table: deals\n    files: x\n    extra: keep\n")


def test_every_shipped_preset_parses() -> None:
    assert {
        "hubspot-companies",
        "hubspot-deals",
        "salesforce-accounts",
        "salesforce-opportunities",
        "generic-billing",
    } <= set(preset_names())
    for name in preset_names():
        assert load_preset(name).tables


def test_an_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(IcploopError) as err:
        load_preset("zoho")
    assert "hubspot-deals" in err.value.hint


def test_the_example_mappings_parse() -> None:
    folder = Path(__file__).resolve().parents[2] / "examples" / "mappings"
    for path in folder.glob("*.yaml"):
        parse_mapping(path.read_text(encoding="utf-8"), str(path))
