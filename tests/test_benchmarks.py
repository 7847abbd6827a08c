"""The speed benchmark still runs, and times what it says it times (on a tiny venv: a smoke
test, not a measurement; the numbers are in README.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from test_cuda_probe import gpu_driver_present

HERE = Path(__file__).resolve().parent


def test_bench_speed_times_every_row(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(HERE / "bench_speed.py"), "--packages", "3", "--repeat", "1",
         "--inside", "--with-pip", "--json", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped" not in done.stdout, done.stdout  # a command that failed its warm-up
    rows = {r["command"]: r for r in json.loads(out.read_text())["rows"]}
    checks = [
        "envlock verify --python",
        "envlock verify --prefix",
        "VENVPY -m envlock verify (inside)",
        "VENVPY -m envlock verify --no-runtime",
    ]
    repeats = [
        "  ... unchanged: result repeated",
        "  ... unchanged, pip >= 25.2's script",
        "  ... unchanged, pip < 25.2's script",
        "  ... unchanged, uv's script",
    ]
    if not gpu_driver_present():  # with a driver, the CUDA probe's answer is never repeated
        repeats.append("  ... unchanged, with the runtime probes")
    floors = [label for label in rows if label.startswith("floor: ")]
    assert set(checks + repeats + ["envlock capture --python", "pip freeze"]) <= set(rows)
    assert len(floors) == 5
    for label in checks + repeats:  # each check found the venv as captured: exit 0
        assert rows[label]["stdout_lines"] == 1 and "exit" not in rows[label]["note"], rows[label]
    for label in repeats:  # and the unchanged environment's result was repeated, not redone
        assert "repeated 1 of 1 runs" in rows[label]["note"], rows[label]
    assert rows["pip freeze"]["stdout_lines"] == 3
