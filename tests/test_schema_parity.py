"""The typed parser that ``verify`` uses (:meth:`envlock.model.Lockfile.from_dict`, no
jsonschema on that path) accepts exactly what the published schema accepts.

Mutants are made from the schema itself: at every place of a rich lockfile (conda, BLAS, CUDA,
every kind of source), an unknown key, each required key taken away, each optional key taken
away, null, a value of each wrong type, a value outside an enum or a pattern, an empty string
where one is required to be non-empty, a negative count, a repeated list item, a bad name.
For each mutant, jsonschema is the oracle: the parser loads it exactly when the schema
accepts it (after credentials are removed, as the parser removes them first).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from test_fuzz_loaders import TOML_DATA, YAML_DATA

from envlock import lockfile, schema
from envlock.errors import LockfileError
from envlock.model import Lockfile
from envlock.redact import redact_strings

SCHEMA = schema.load()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
Path = tuple[Any, ...]

# One value of each JSON type, for "a value of the wrong type".
SAMPLES: dict[str, Any] = {
    "string": "x",
    "integer": 7,
    "number": 2.5,
    "boolean": True,
    "array": ["x"],
    "object": {"k": "x"},
    "null": None,
}


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _types(node: dict[str, Any]) -> set[str]:
    if "const" in node:
        return {"integer"}
    if "enum" in node:
        return {"string"}
    kind = node.get("type")
    return {kind} if isinstance(kind, str) else set()


def _wrong_values(node: dict[str, Any], value: Any) -> Iterator[Any]:
    """Values that break ``node`` (or, for the oracle to judge, may not)."""
    types = _types(node)
    for kind, sample in SAMPLES.items():
        if kind not in types and not (kind == "integer" and "number" in types):
            yield sample
    if "enum" in node:
        yield "not-one-of-them"
        yield node["enum"][0].upper() + " "
    if "const" in node:
        yield node["const"] + 1
        yield 0
    if "pattern" in node:
        yield "not valid!"
        yield f"{value} " if isinstance(value, str) else "x "
    if node.get("minLength"):
        yield ""
    if "minimum" in node:
        yield node["minimum"] - 1
    if node.get("uniqueItems") and isinstance(value, list) and value:
        yield [*value, value[0]]


def _mutants(value: Any, node: dict[str, Any], path: Path) -> Iterator[tuple[Path, str, Any]]:
    """(path, what, new value) for the place ``path``; a new value of ``...`` deletes it."""
    node = _resolve(node)
    for wrong in _wrong_values(node, value):
        yield path, f"value {wrong!r}", wrong
    if isinstance(value, dict) and node.get("type") == "object":
        props: dict[str, Any] = node.get("properties", {})
        extra = node.get("additionalProperties", True)
        if extra is False:
            yield (*path, "zz_unknown"), "an unknown key", "x"
        names = node.get("propertyNames", {}).get("pattern")
        if names and value:
            some = next(iter(value))
            yield path, "a name outside the pattern", {**value, "Not A Name": value[some]}
        for key in node.get("required", []):
            yield (*path, key), "required key taken away", ...
        for key, child in value.items():
            if key in props:
                if key not in node.get("required", []):
                    yield (*path, key), "optional key taken away", ...
                yield from _mutants(child, props[key], (*path, key))
            elif isinstance(extra, dict):
                yield from _mutants(child, extra, (*path, key))
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        for i, item in enumerate(value):
            yield from _mutants(item, node["items"], (*path, i))


def _apply(data: Any, path: Path, new: Any) -> Any:
    data = copy.deepcopy(data)
    if not path:
        return new
    *parents, last = path
    parent = data
    for step in parents:
        parent = parent[step]
    if new is ...:
        del parent[last]
    else:
        parent[last] = new
    return data


def _with_every_field(data: dict[str, Any]) -> dict[str, Any]:
    """The rich seed with the optional fields it still lacks, so that each is mutated."""
    data = copy.deepcopy(data)
    env = next(iter(data["environments"].values()))
    env["python"]["free_threading"] = False
    env["platform"]["cpu_flags"] = ["avx2", "fma"]
    env["packages"]["vcs"].update(requested_revision="main", subdirectory="sub")
    env["packages"]["arch"]["url"] = "https://example.invalid/a.whl"
    conda = env["conda"]
    conda["overrides"] = {"CONDA_OVERRIDE_CUDA": "12.4"}
    conda["packages"]["zlib"].update(
        channel_url="https://conda.anaconda.org/conda-forge", sha256="0" * 64, archive=".conda"
    )
    blas = env["blas"]
    blas["libraries"][0].update(
        architecture="Haswell",
        threading="pthreads",
        file="lib/libopenblas.so",
        loaded_by="numpy",
        detected_by=["threadpoolctl"],
    )
    blas["cpu_features"] = {"AVX2": True}
    cuda = env["cuda"]
    cuda["driver"] = {"version": "550.54", "cuda_version": "12.4", "method": "nvidia-smi"}
    cuda["runtime"].update(library="lib/libcudart.so.12", source="pip")
    cuda["gpus_method"] = "nvidia-smi"
    cuda["visible_devices"] = "0"
    cuda["notes"] = ["a note"]
    return data


CASES = [
    (fmt, path, what, new)
    for fmt, seed in (("yaml", YAML_DATA), ("toml", TOML_DATA))
    for path, what, new in _mutants(_with_every_field(seed), SCHEMA, ())
]


def test_the_seeds_are_valid_and_load() -> None:
    for seed in (YAML_DATA, TOML_DATA):
        data = _with_every_field(seed)
        VALIDATOR.validate(data)
        Lockfile.from_dict(data)
    assert len(CASES) > 500


@pytest.mark.parametrize(
    ("fmt", "path", "what", "new"),
    CASES,
    ids=[f"{c[0]}:{'.'.join(map(str, c[1]))}:{c[2]}" for c in CASES],
)
def test_the_parser_accepts_exactly_what_the_schema_accepts(
    fmt: str, path: Path, what: str, new: Any
) -> None:
    seed = _with_every_field(YAML_DATA if fmt == "yaml" else TOML_DATA)
    mutant = _apply(seed, path, new)
    valid = VALIDATOR.is_valid(redact_strings(mutant))
    where = ".".join(map(str, path))
    try:
        Lockfile.from_dict(mutant)
    except LockfileError as e:
        assert not valid, f"{where}: {what}: valid to the schema, refused: {e}"
        assert "\n" not in str(e)
    else:
        assert valid, f"{where}: {what}: invalid to the schema, loaded"


def test_a_refused_mutant_fails_verify_in_one_line(tmp_path: Any) -> None:
    """Through the file: an unknown key (a typo of a real one) is exit 2, naming the file and
    the dotted path, never silently dropped (``lockcheck --fix`` would have erased it)."""
    data = _with_every_field(YAML_DATA)
    env = next(iter(data["environments"]))
    data["environments"][env]["packages"]["vcs"]["comit"] = "b" * 40
    path = tmp_path / "envlock.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(LockfileError) as e:
        lockfile.load(path)
    assert f"environments.{env}.packages.vcs.comit" in str(e.value)
    assert "unknown key" in str(e.value)
