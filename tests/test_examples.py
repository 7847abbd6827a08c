"""The examples stay valid: every lockfile there matches the schema and loads."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from support import envlock, validate

import envlock as api
from envlock import schema

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LOCKFILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".toml"))


def test_there_are_examples() -> None:
    assert {p.suffix for p in LOCKFILES} == {".yaml", ".toml"}


@pytest.mark.parametrize("path", LOCKFILES, ids=lambda p: p.name)
def test_example_is_valid(path: Path) -> None:
    validate(path)
    lock = api.load(path)
    assert lock.environments


def test_yaml_and_toml_examples_hold_the_same_data() -> None:
    assert api.load(EXAMPLES / "envlock.yaml") == api.load(EXAMPLES / "envlock.toml")


def test_schema_command_prints_the_schema() -> None:
    done = envlock("schema")
    assert done.returncode == 0
    printed = json.loads(done.stdout)
    assert printed == json.loads((EXAMPLES.parent / "schemas" / "envlock.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(printed)
    assert printed == schema.load()
