"""What the runtime part of a capture costs, next to importing numpy in the same interpreter.

    python tests/bench_native.py [--python PATH] [--repeat 11]

Times, interleaved: `python -c "import numpy"`, `python -c "import numpy, scipy.linalg"` (what
the BLAS probe imports to see every BLAS load), `envlock capture` with the runtime probes and
with `--no-runtime`, and prints medians and the ratios to importing numpy.
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--python", default=sys.executable, help="interpreter with numpy")
    p.add_argument("--repeat", type=int, default=11)
    args = p.parse_args(argv)
    env = clean_env()
    env["ENVLOCK_CACHE_DIR"] = "off"
    with tempfile.TemporaryDirectory(prefix="envlock-bench-native-") as tmp:
        lock = str(Path(tmp) / "envlock.yaml")
        commands = {
            "import numpy": [args.python, "-c", "import numpy"],
            "import numpy, scipy.linalg": [args.python, "-c", "import numpy, scipy.linalg"],
            "envlock capture": [*host_envlock(), "capture", "--python", args.python, lock],
            "envlock capture --no-runtime": [
                *host_envlock(),
                "capture",
                "--no-runtime",
                "--python",
                args.python,
                lock,
            ],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for round_ in range(args.repeat + 1):
            for name, cmd in commands.items():
                start = time.perf_counter()
                subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, check=True)
                if round_:  # the first round warms caches and is dropped
                    times[name].append(time.perf_counter() - start)
    base = statistics.median(times["import numpy"])
    print(f"{'command':32} {'median ms':>10} {'x import numpy':>15}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:32} {median * 1000:>10.1f} {median / base:>15.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
