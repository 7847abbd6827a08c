"""What checking a Dask cluster costs, next to Dask's own version check.

Starts a LocalCluster of N worker processes, captures a lockfile from it, then times, side by
side in one run (round-robin, medians): ``envlock verify --dask`` (client, scheduler and every
worker, each probed through Client.run), a Python client that connects and calls Dask's
``get_versions(check=True)`` (about nine packages, never fails the run), and ``uv pip freeze``
of this interpreter (one machine, for scale).

    python tests/bench_dask.py [--workers 8] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    from distributed import LocalCluster

    env = dict(os.environ, ENVLOCK_CACHE_DIR="off")
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalCluster(
            n_workers=args.workers, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
    ):
        address = cluster.scheduler_address
        lock = str(Path(tmp) / "envlock.yaml")
        envlock = [sys.executable, "-m", "envlock"]
        subprocess.run([*envlock, "capture", "-q", "--dask", address, lock], env=env, check=True)
        versions = (
            f"from distributed import Client; c = Client({address!r}); "
            "c.get_versions(check=True); c.close()"
        )
        rows = {
            "envlock verify --dask": [*envlock, "verify", "-q", "--dask", address, lock],
            "Client.get_versions(check=True)": [sys.executable, "-c", versions],
        }
        uv = shutil.which("uv")
        if uv:
            rows["uv pip freeze (this machine)"] = [uv, "pip", "freeze", "--python", sys.executable]
        times: dict[str, list[float]] = {label: [] for label in rows}
        for round_ in range(args.repeat + 1):
            for label, cmd in rows.items():
                start = time.perf_counter()
                done = subprocess.run(cmd, env=env, capture_output=True, text=True)
                if done.returncode != 0:
                    print(f"{label}: exit {done.returncode}\n{done.stderr[-2000:]}")
                    return 1
                if round_:  # the first round warms up
                    times[label].append(time.perf_counter() - start)
    base = statistics.median(times["Client.get_versions(check=True)"])
    print(f"{args.workers} workers (+ client and scheduler), {args.repeat} runs each")
    print(f"{'command':40} {'median ms':>10} {'x get_versions':>15}")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"{label:40} {median * 1000:10.0f} {median / base:15.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
