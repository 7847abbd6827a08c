"""The runtime part of a capture: child processes of the target interpreter that import numpy
(and scipy) to see which BLAS / LAPACK / OpenMP actually loads, and that ask the CUDA
libraries for their versions. Both run at once, each with a timeout, always in a child
process — even for the interpreter running envlock — so that a crash in a native library
cannot take envlock down. A probe that fails leaves a note, never an error. They run in the
working directory, as the main probe does (:func:`envlock.target.probe`).

threadpoolctl is handed to the BLAS probe as a copy of its single file in a temporary
directory, appended to the child's ``sys.path``: the target's own copy wins, and nothing
else of envlock's environment becomes importable there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from envlock.errors import TargetError
from envlock.target import fenced_payload, new_marker

TYPE_CHECKING = False  # typing costs milliseconds at start-up; mypy reads this block
if TYPE_CHECKING:
    from typing import Any

RUNTIME_TIMEOUT_S = 120.0


def _threadpoolctl_copy(tmp: Path) -> str | None:
    try:
        import threadpoolctl
    except ImportError:
        return None
    folder = tmp / "threadpoolctl"
    folder.mkdir()
    shutil.copy(threadpoolctl.__file__, folder / "threadpoolctl.py")
    return str(folder)


def probe(
    python: Path, prefix: str, *, blas: bool = True, cuda: bool = True
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[str]]:
    """(BLAS payload, CUDA payload, notes) for the environment of ``python``; a probe not
    asked for gives ``None``."""
    from envlock import _blas_probe, _cuda_probe, stamp

    notes: list[str] = []
    # verify's memo may keep a result that needed these probes, from the files their answers
    # came from (stamp.watch_loaded, stamp.watch_cuda); never one that asked a GPU driver.
    watch = stamp.recording() is not None
    with (
        stamp.child(),
        tempfile.TemporaryDirectory(prefix="envlock-runtime-") as tmp,
    ):
        blas_args = {
            "prefix": prefix,
            "threadpoolctl_path": _threadpoolctl_copy(Path(tmp)),
            "import": ["numpy", "scipy"],
        }
        jobs = {
            "blas": (Path(_blas_probe.__file__), blas_args),
            "cuda": (Path(_cuda_probe.__file__), {"prefix": prefix, "watch": watch}),
        }
        if not blas:
            del jobs["blas"]
        if not cuda:
            del jobs["cuda"]
        running = {}
        for name, (script, args) in jobs.items():
            marker = new_marker()
            try:
                proc = subprocess.Popen(
                    [str(python), str(script), marker, json.dumps(args)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            except OSError as e:
                notes.append(f"{name} probe: cannot run {python.name}: {e.strerror}")
                continue
            running[name] = (proc, marker)
        results: dict[str, dict[str, Any] | None] = {"blas": None, "cuda": None}
        for name, (proc, marker) in running.items():
            try:
                out, err = proc.communicate(timeout=RUNTIME_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                notes.append(f"{name} probe: no answer in {RUNTIME_TIMEOUT_S:.0f} s; not recorded")
                continue
            try:
                results[name] = fenced_payload(python, proc.returncode, out, err, marker)
            except TargetError as e:
                notes.append(f"{name} probe: {e}; not recorded")
    if blas:
        stamp.watch_loaded(results["blas"])
    if cuda:
        stamp.watch_cuda(results["cuda"])
    return results["blas"], results["cuda"], notes
