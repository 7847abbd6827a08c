"""How reading a conda prefix grows with its number of records.

Builds synthetic prefixes of N records each (conda's exact record format, ~40 files per
record, a third of them Python packages with their dist-info in site-packages, large
``paths_data``), then times ``envlock capture --prefix`` and ``envlock verify --prefix`` on each
and prints the medians, the time per record, and the growth relative to the smallest prefix.

    python tests/bench_conda.py [--sizes 100,350,700,1400] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_speed import clean_env, host_envlock
from condafactory import write_record

PYVER = "3.11"


def build_prefix(root: Path, records: int) -> Path:
    site = root / "lib" / f"python{PYVER}" / "site-packages"
    site.mkdir(parents=True)
    (root / "conda-meta").mkdir()
    write_record(root, "python", "3.11.7", "hab00c5b_1_cpython", files=["bin/python3.11"])
    for i in range(records - 1):
        name, version = f"pkg{i:04d}", f"1.{i % 7}.{i % 3}"
        files = [f"lib/libpkg{i}.so.{j}" for j in range(40)]
        if i % 3 == 0:
            dist = f"lib/python{PYVER}/site-packages/{name}-{version}.dist-info"
            (root / dist).mkdir()
            (root / dist / "METADATA").write_text(
                f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n"
            )
            (root / dist / "INSTALLER").write_text("conda\n")
            files += [f"{dist}/METADATA", f"{dist}/INSTALLER", f"{dist}/RECORD"]
        write_record(root, name, version, f"py311h{i:06x}_0", files=files)
    return root


def median_ms(cmd: list[str], cwd: Path, repeat: int) -> float:
    env = clean_env()
    env["ENVLOCK_CACHE_DIR"] = "off"
    times = []
    for _ in range(repeat + 1):  # the first run warms the file cache and is dropped
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:]) * 1000


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--sizes", default="100,350,700,1400", help="records per prefix")
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    envlock = host_envlock()
    rows = []
    with tempfile.TemporaryDirectory(prefix="envlock-bench-conda-") as tmp:
        for size in sizes:
            root = build_prefix(Path(tmp) / f"p{size}", size)
            lock = Path(tmp) / f"p{size}.yaml"
            capture = median_ms(
                [*envlock, "capture", "--prefix", str(root), str(lock)], Path(tmp), args.repeat
            )
            verify = median_ms(
                [*envlock, "verify", "--prefix", str(root), str(lock)], Path(tmp), args.repeat
            )
            rows.append((size, capture, verify))
    base = rows[0]
    print(f"{'records':>8} {'capture ms':>11} {'verify ms':>10} {'ms/record':>10} {'verify x':>9}")
    for size, capture, verify in rows:
        print(
            f"{size:>8} {capture:>11.1f} {verify:>10.1f} {verify / size:>10.3f} "
            f"{verify / base[2]:>9.2f}"
        )
    print(
        "\n'verify x' is the time relative to the smallest prefix; with a fixed start-up cost, "
        "linear growth shows as a roughly constant ms/record at large sizes."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
