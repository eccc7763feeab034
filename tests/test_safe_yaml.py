"""The one YAML reader: aliases, nesting, size and repeated keys refused with the file and line,
and every YAML the product reads going through it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.errors import IcploopError
from icploop.fit.config import load_fit_config
from icploop.flags.routing import load_routing
from icploop.icp.document import from_yaml
from icploop.ingest.mapping import load_mapping, parse_mapping
from icploop.reasons.taxonomy import load_taxonomy
from icploop.safe_yaml import MAX_BYTES, parse_yaml, read_yaml

# "billion laughs": nine levels of ten aliases each, 10^9 nodes once expanded, under 1 KB here
ALIAS_BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)


def deep(levels: int) -> str:
    return "criteria: " + "[" * levels + "]" * levels + "\n"


def test_plain_yaml_parses_and_every_key_path_keeps_its_line() -> None:
    doc = parse_yaml("a: 1\nb:\n  - x\n  - {c: 2}\n", "f.yaml")
    assert doc.data == {"a": 1, "b": ["x", {"c": 2}]}
    assert doc.line_of(["b", 1, "c"]) == 4
    assert doc.line_of(["b", 1, "missing"]) == 4  # the nearest located ancestor
    assert doc.where(["a"]) == "f.yaml, line 1"
    assert parse_yaml("", "empty.yaml").data is None


def test_an_alias_bomb_is_refused_at_the_first_alias_with_its_line() -> None:
    assert len(ALIAS_BOMB) < 1000
    with pytest.raises(IcploopError) as err:
        parse_yaml(ALIAS_BOMB, "bomb.yaml")
    assert err.value.message.startswith("bomb.yaml, line 2: the alias *a is not accepted")


def test_a_merge_key_is_refused() -> None:
    with pytest.raises(IcploopError, match=r"m\.yaml, line 2: merge keys"):
        parse_yaml("a: 1\n<<: {b: 2}\n", "m.yaml")


def test_deep_nesting_is_refused_with_its_line_not_a_recursion_error() -> None:
    with pytest.raises(IcploopError, match=r"d\.yaml, line 1: nesting deeper than 32 levels"):
        parse_yaml(deep(1000), "d.yaml")
    assert parse_yaml(deep(20), "ok.yaml").data is not None


def test_a_repeated_key_is_refused_naming_both_lines() -> None:
    with pytest.raises(IcploopError) as err:
        parse_yaml("tables: []\nencoding: utf-8\ntables: []\n", "r.yaml")
    assert err.value.message == (
        "r.yaml, line 3: the key 'tables' is repeated (first given on line 1)"
    )


def test_a_document_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("k: " + "x" * MAX_BYTES + "\n")
    with pytest.raises(IcploopError, match="more than the 1,048,576 bytes"):
        read_yaml(big, "mapping file")
    with pytest.raises(IcploopError, match="larger than the 100 bytes"):
        parse_yaml("k: " + "x" * 200, "s.yaml", max_bytes=100)


def test_a_syntax_error_names_the_line_and_the_problem() -> None:
    with pytest.raises(IcploopError, match=r"s\.yaml, line 2: not valid YAML"):
        parse_yaml("a: 1\nb: c: d\n", "s.yaml")


def test_a_control_character_is_refused_with_its_line() -> None:
    with pytest.raises(IcploopError, match=r"c\.yaml, line 2: not valid YAML \(the character"):
        parse_yaml("a: 1\nb: \x81\n", "c.yaml")


def test_text_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(IcploopError, match="not UTF-8"):
        parse_yaml(b"a: \xff\n", "b.yaml")


def test_the_mapping_reader_refuses_an_alias_bomb_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB)
    with pytest.raises(IcploopError, match=rf"{path}, line 2: the alias"):
        load_mapping(path)
    with pytest.raises(IcploopError, match="line 3: the key 'files' is repeated"):
        parse_mapping("tables:\n  - {table: deals, files: a.csv,\n     files: b.csv}\n")


def test_configuration_files_name_the_line_of_each_problem(tmp_path: Path) -> None:
    fit = tmp_path / "fit.yaml"
    fit.write_text("thresholds:\n  tag_after_days: 90\n  watch_dayz: 10\n")
    with pytest.raises(IcploopError, match=rf"{fit}, line 3: thresholds.watch_dayz"):
        load_fit_config(fit)
    routing = tmp_path / "routing.yaml"
    routing.write_text("channels:\n  ae: [email]\n  sales: [email]\n")
    with pytest.raises(IcploopError, match=rf"{routing}, line 1: channels.*unknown recipient"):
        load_routing(routing)
    routing.write_text(ALIAS_BOMB)
    with pytest.raises(IcploopError, match="alias"):
        load_routing(routing)
    taxonomy = tmp_path / "tax.yaml"
    taxonomy.write_text("reasons:\n  - code: ok\n  - code: Bad Code\n")
    with pytest.raises(
        IcploopError, match=rf"taxonomy {taxonomy} has .*line 3: reason 2: code must"
    ):
        load_taxonomy(taxonomy)


def test_an_icp_document_names_the_line_of_a_bad_criterion() -> None:
    text = "criteria:\n  - {attribute: seats_at_close, op: '>=', value: 75}\n  - {attribute: x}\n"
    with pytest.raises(IcploopError, match=r"icp\.yaml, line 3: criteria\.1\.op"):
        from_yaml(text, "icp.yaml")
    with pytest.raises(IcploopError, match=r"icp\.yaml, line 1: an ICP document is a mapping"):
        from_yaml("- a\n- b\n", "icp.yaml")


def test_the_cli_reports_deep_nesting_and_aliases_in_one_line_each(tmp_path: Path) -> None:
    runner = CliRunner()
    for name, text in (("deep.yaml", deep(1000)), ("bomb.yaml", ALIAS_BOMB)):
        doc = tmp_path / name
        doc.write_text(text)
        result = runner.invoke(
            app, ["icp", "import", str(doc), "--workspace", str(tmp_path), "--as", "ops"]
        )
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output and "RecursionError" not in result.output
        first = result.output.strip().splitlines()[0]
        assert f"{doc}, line" in first and ("nesting deeper" in first or "alias" in first)
