"""How fast is envlock next to ``pip freeze`` and ``uv pip freeze``? (A script, not a test.)

    python tests/bench_speed.py [--packages N] [--venv PATH] [--repeat R] [--inside]
                                [--with-pip] [--only-baselines] [--json FILE] [--keep]

Without ``--venv`` it builds, offline, a throw-away venv holding N synthetic distributions
(hand-written wheels from tests/factory.py, installed by one ``pip install --no-index``
run; about a third of them come in as dependencies, without REQUESTED). ``--venv`` takes an
existing environment instead (its directory or its interpreter).

Each command runs once to warm up, then all of them run round-robin R times, so that drift
in the machine's load hits them alike. Timed, all against the same environment:

* ``envlock capture --python VENVPY`` and ``envlock verify --python VENVPY`` (envlock from
  this checkout, run by this interpreter; it probes the venv in a child interpreter),
* ``envlock verify --prefix VENV`` (files only, nothing runs in the venv),
* ``VENVPY -m envlock verify`` (envlock inside the venv: in-process), when the venv can
  import envlock; ``--inside`` makes the built venv able to, with a ``.pth`` naming this
  checkout and a folder of symlinks to envlock's dependencies (modules only, no
  ``.dist-info``, so that every command still sees the same N distributions),
* each of these with ``--no-cache``, so that each run checks; and ``VENVPY -m envlock verify
  --no-runtime`` once more without it, on the unchanged environment: what a pre-commit
  hook pays on each commit that leaves the environment alone, when the result is repeated
  (envlock/stamp.py; the note says how many of the timed runs did repeat it), also with the
  runtime probes the lockfile needs (plain ``verify``; not repeated where a GPU driver
  answered), and through
  console scripts written as pip and uv write them (``--inside``: pip since 25.2 and uv
  write scripts that do not import ``re``; pip before 25.2 wrote one that does),
* floors: the venv's interpreter doing nothing (``-c pass``), and importing only ``runpy``
  (what ``-m`` costs), ``re`` (what pip < 25.2's script costs) or ``dataclasses`` (what
  envlock's frozen dataclasses cost before the first is made), or reading the four files of
  each distribution that a check of it must read (no parsing, no lockfile, no comparison):
  no command that starts this interpreter, or that checks the packages, can be faster than
  the floor under it,
* ``VENVPY -m pip freeze`` when the venv has pip (``--with-pip`` puts it in the built venv),
  else this interpreter's ``pip --python VENVPY freeze`` (two interpreters start),
* ``uv pip freeze --python VENVPY`` when ``uv`` is on PATH.

The table gives the median and the minimum in milliseconds and each median's ratio to
``uv pip freeze``'s and to ``pip freeze``'s. The ratios are the headline: absolute times
depend on the machine, ratios much less. ``--only-baselines`` times pip and uv alone.
Always exits 0 unless the arguments are wrong or the venv cannot be built.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from factory import build_wheel, make_venv, pip_env, pip_install  # noqa: E402

TIMEOUT_S = 300.0
# The console script pip writes for envlock.cli:main: pip 25.2 and later use their own template
# (this is 26.3's), which no longer imports `re`; earlier pips used distlib's, which does.
PIP_SCRIPT = """import sys
from envlock.cli import main
if __name__ == '__main__':
    sys.argv[0] = sys.argv[0].removesuffix('.exe')
    sys.exit(main())
"""
OLD_PIP_SCRIPT = """# -*- coding: utf-8 -*-
import re
import sys
from envlock.cli import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""
# uv's console-script template (uv pip install, uv tool install): no `import re` either
UV_SCRIPT = """# -*- coding: utf-8 -*-
import sys
from envlock.cli import main
if __name__ == "__main__":
    if sys.argv[0].endswith("-script.pyw"):
        sys.argv[0] = sys.argv[0][:-11]
    elif sys.argv[0].endswith(".exe"):
        sys.argv[0] = sys.argv[0][:-4]
    sys.exit(main())
"""
SCRIPTS = {
    "envlock": ("pip >= 25.2", PIP_SCRIPT),
    "envlock-oldpip": ("pip < 25.2", OLD_PIP_SCRIPT),
    "envlock-uv": ("uv", UV_SCRIPT),
}
# What the venv's interpreter costs before any of envlock's code runs: the floors under the
# rows above them, timed in the same rounds.
FLOORS = {
    "start-up: -c pass": ("pass", None),
    "... + import runpy (-m)": ("import runpy", None),
    "... + import re (pip < 25.2's script)": ("import re", None),
    "... + import dataclasses": ("import dataclasses", None),
    # What any check of the packages must read, and nothing more: no parsing, no lockfile.
    "... + read each dist-info's files": (
        "import os, sys\n"
        "for d in sys.path:\n"
        "    if d.endswith('-packages') and os.path.isdir(d):\n"
        "        for e in os.scandir(d):\n"
        "            if e.name.endswith('.dist-info'):\n"
        "                for f in ('METADATA', 'INSTALLER', 'REQUESTED', 'direct_url.json'):\n"
        "                    try:\n"
        "                        with open(os.path.join(e.path, f), 'rb') as h:\n"
        "                            h.read()\n"
        "                    except OSError:\n"
        "                        pass\n",
        "VENVPY -c: open and read METADATA, INSTALLER, REQUESTED, direct_url.json of each",
    ),
}
REPEATED = "its result stands"  # what envlock verify says when it repeats a result


@dataclass
class Bench:
    label: str
    cmd: list[str]
    ok_codes: tuple[int, ...] = (0,)
    note: str = ""
    times: list[float] = field(default_factory=list)
    lines: int = -1  # lines of stdout of the warm-up run (packages, for freeze)
    memo: bool = False  # envlock verify without --no-cache: counts the runs it repeated
    repeated: int = 0


def clean_env() -> dict[str, str]:
    """No active environment, no PYTHONPATH, no pip / uv configuration from the caller."""
    env = pip_env()
    for key in list(env):
        if key in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH", "PYTHONHOME") or key.startswith(
            "UV_"
        ):
            del env[key]
    env["UV_NO_CONFIG"] = "1"
    env["UV_OFFLINE"] = "1"
    return env


def host_envlock() -> list[str]:
    """``python -m envlock`` with this checkout first on sys.path (without PYTHONPATH, which
    would leak into the probe envlock starts in the target interpreter)."""
    code = (
        "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
        "runpy.run_module('envlock', run_name='__main__', alter_sys=True)"
    )
    return [sys.executable, "-c", code, str(REPO)]


def run_once(
    bench: Bench, cwd: Path, env: dict[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(
        bench.cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    return time.perf_counter() - start, done


def interpreter_of(venv: Path) -> Path:
    if venv.is_file():
        return venv.absolute()
    for rel in ("bin/python", "bin/python3", "Scripts/python.exe", "python.exe"):
        if (venv / rel).is_file():
            return (venv / rel).absolute()
    raise SystemExit(f"bench_speed: {venv}: no interpreter in it")


def query(
    python: Path, code: str, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def link_envlock_dependencies(dest: Path) -> Path:
    """Make envlock's dependencies importable from a venv without adding distributions to it.

    For each distribution in the closure of envlock's requirements (from pyproject.toml, with
    markers evaluated for this interpreter) that this interpreter has, *dest* gets a symlink to
    each of its top-level modules and packages, and no ``.dist-info``: a ``.pth`` naming
    *dest* lets the venv import them while ``pip freeze``, ``uv pip freeze`` and envlock still
    see only the venv's own distributions.
    """
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    toml: Any = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    project = toml.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    todo: list[str] = list(project["project"]["dependencies"])
    seen: set[str] = set()
    dest.mkdir(parents=True, exist_ok=True)
    while todo:
        req = Requirement(todo.pop())
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        key = canonicalize_name(req.name)
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            print(f"note: envlock's dependency {req.name} is not installed here")
            continue
        todo.extend(dist.requires or [])
        for file in dist.files or []:
            top = file.parts[0]
            if top in ("..", "__pycache__") or top.endswith((".dist-info", ".pth")):
                continue
            link = dest / top
            if not link.exists() and not link.is_symlink():
                link.symlink_to(Path(str(dist.locate_file(top))))
    return dest


def build_env(work: Path, packages: int, inside: bool, with_pip: bool) -> Path:
    """A venv with *packages* synthetic distributions; returns its interpreter."""
    wheels = work / "wheels"
    leaves = []
    for i in range(packages):
        # A binary tree of dependencies: package i (i > 0) needs package (i - 1) // 2, and only
        # the leaves are asked for, so the inner nodes are installed as dependencies.
        requires = [f"benchpkg-{(i - 1) // 2:04d}>=1"] if i else []
        build_wheel(wheels, f"benchpkg-{i:04d}", f"1.0.{i}", requires=requires)
        if 2 * i + 1 >= packages:
            leaves.append(f"benchpkg-{i:04d}==1.0.{i}")
    started = time.perf_counter()
    python = make_venv(work / "venv", with_pip=with_pip)
    pip_install(python, "--find-links", str(wheels), *leaves)
    if inside:
        site = query(
            python,
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            work,
            clean_env(),
        ).stdout.strip()
        deps = link_envlock_dependencies(work / "envlock-deps")
        (Path(site) / "_envlock_checkout.pth").write_text(f"{REPO}\n{deps}\n", encoding="utf-8")
        for name, (_, text) in SCRIPTS.items():  # the console script, as pip and uv write it
            script = python.parent / name
            script.write_text(f"#!{python}\n{text}", encoding="utf-8")
            script.chmod(0o755)
    print(
        f"built {work / 'venv'}: {packages} distributions ({len(leaves)} requested) "
        f"in {time.perf_counter() - started:.1f} s"
        + (" [+ envlock importable through a .pth]" if inside else "")
    )
    return python


def plan(python: Path, work: Path, env: dict[str, str], only_baselines: bool) -> list[Bench]:
    benches: list[Bench] = []
    lock = work / "envlock.yaml"
    if not only_baselines:
        prefix = query(python, "import sys; print(sys.prefix)", work, env).stdout.strip()
        envlock = host_envlock()
        benches.append(
            Bench(
                "envlock capture --python",
                [*envlock, "capture", "--python", str(python), str(lock)],
            )
        )
        benches.append(
            Bench(
                "envlock verify --python",
                [*envlock, "verify", "--no-cache", "--python", str(python), str(lock)],
                (0, 1),
            )
        )
        if prefix:
            benches.append(
                Bench(
                    "envlock verify --prefix",
                    [*envlock, "verify", "--no-cache", "--prefix", prefix, str(lock)],
                    (0, 1),
                )
            )
        if query(python, "import envlock", work, env).returncode == 0:
            # No VIRTUAL_ENV, CONDA_PREFIX or ./.venv: envlock's target is its own interpreter,
            # probed in-process.
            benches.append(
                Bench(
                    "VENVPY -m envlock verify (inside)",
                    [str(python), "-m", "envlock", "verify", "--no-cache", str(lock)],
                    (0, 1),
                )
            )
            # The comparison the design sets against uv: verify without the runtime probes
            # (which start child processes to load numpy's BLAS and the CUDA libraries).
            benches.append(
                Bench(
                    "VENVPY -m envlock verify --no-runtime",
                    [
                        str(python),
                        "-m",
                        "envlock",
                        "verify",
                        "--no-runtime",
                        "--no-cache",
                        str(lock),
                    ],
                    (0, 1),
                )
            )
            # The same, on the unchanged environment: the memo's replay (envlock/stamp.py).
            benches.append(
                Bench(
                    "  ... unchanged: result repeated",
                    [str(python), "-m", "envlock", "verify", "--no-runtime", str(lock)],
                    (0, 1),
                    memo=True,
                )
            )
            # What plain `envlock verify` costs there: the probes the lockfile needs (BLAS
            # when numpy was captured; CUDA when a library or toolkit was found) are repeated
            # too, unless a GPU driver answered (the note says how many runs repeated it).
            benches.append(
                Bench(
                    "  ... unchanged, with the runtime probes",
                    [str(python), "-m", "envlock", "verify", str(lock)],
                    (0, 1),
                    memo=True,
                )
            )
            for name, (installer, _) in SCRIPTS.items():
                script = python.parent / name
                if script.is_file():
                    benches.append(
                        Bench(
                            f"  ... unchanged, {installer}'s script",
                            [str(script), "verify", "--no-runtime", str(lock)],
                            (0, 1),
                            note=f"VENV/bin/envlock as {installer} writes it; ",
                            memo=True,
                        )
                    )
            # verify --against a requirements file naming every distribution (uv pip freeze's)
            reqs = work / "requirements.txt"
            uv = shutil.which("uv")
            if uv:
                frozen = subprocess.run(
                    [uv, "pip", "freeze", "--python", str(python)],
                    cwd=work, env=env, capture_output=True, text=True, check=False,
                )  # fmt: skip
                reqs.write_text(frozen.stdout, encoding="utf-8")
                benches.append(
                    Bench(
                        "VENVPY -m envlock verify --against reqs",
                        [
                            str(python),
                            "-m",
                            "envlock",
                            "verify",
                            "--no-cache",
                            "--against",
                            str(reqs),
                        ],
                        (0, 1),
                        note="requirements.txt from uv pip freeze",
                    )
                )
        else:
            print("note: the venv cannot import envlock: no in-process row (try --inside)")
    for label, (code, note) in FLOORS.items():
        benches.append(
            Bench(
                f"floor: {label}",
                [str(python), "-c", code],
                note=note or f"VENVPY -c {code!r}",
            )
        )
    if query(python, "import pip", work, env).returncode == 0:
        benches.append(
            Bench("pip freeze", [str(python), "-m", "pip", "freeze"], note="VENVPY -m pip")
        )
    else:
        benches.append(
            Bench(
                "pip freeze",
                [sys.executable, "-m", "pip", "--python", str(python), "freeze"],
                note="host pip --python: two interpreters start",
            )
        )
    uv = shutil.which("uv")
    if uv:
        benches.append(Bench("uv pip freeze", [uv, "pip", "freeze", "--python", str(python)]))
    else:
        print("note: uv is not on PATH: no uv pip freeze row (pip install uv)")
    return benches


def warm_up(benches: list[Bench], work: Path, env: dict[str, str]) -> list[Bench]:
    """Run each command once; drop (and explain) the ones that fail."""
    kept = []
    for bench in benches:
        _, done = run_once(bench, work, env)
        if done.returncode in bench.ok_codes:
            bench.lines = len(done.stdout.splitlines())
            if done.returncode != 0:
                bench.note = (bench.note + "; " if bench.note else "") + f"exit {done.returncode}"
            kept.append(bench)
        else:
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            print(f"skipped {bench.label!r}: exit status {done.returncode}")
            for line in tail:
                print(f"    {line}")
    return kept


def keep_results(benches: list[Bench], work: Path, env: dict[str, str]) -> None:
    """A result is kept only once what it read is old enough (file times are coarse): wait,
    and check again, so that the timed runs of an unchanged environment repeat it."""
    memos = [b for b in benches if b.memo]
    if memos:
        from envlock.stamp import MARGIN_NS

        time.sleep(MARGIN_NS / 1e9 + 0.2)
        for bench in memos:
            run_once(bench, work, env)


def measure(benches: list[Bench], repeat: int, work: Path, env: dict[str, str]) -> None:
    for round_ in range(repeat):
        # Round-robin, starting one further along each round.
        for k in range(len(benches)):
            bench = benches[(round_ + k) % len(benches)]
            seconds, done = run_once(bench, work, env)
            bench.times.append(seconds)
            bench.repeated += REPEATED in done.stderr


def median_ms(bench: Bench) -> float:
    return statistics.median(bench.times) * 1000.0


def report(benches: list[Bench], repeat: int) -> list[dict[str, Any]]:
    by_label = {b.label: b for b in benches}
    uv = by_label.get("uv pip freeze")
    pip = by_label.get("pip freeze")
    rows: list[dict[str, Any]] = []
    for bench in benches:
        med = median_ms(bench)
        rows.append(
            {
                "command": bench.label,
                "argv": bench.cmd,
                "median_ms": round(med, 1),
                "min_ms": round(min(bench.times) * 1000.0, 1),
                "x_uv": round(med / median_ms(uv), 2) if uv else None,
                "x_pip": round(med / median_ms(pip), 2) if pip else None,
                "stdout_lines": bench.lines,
                "note": bench.note
                + (f"repeated {bench.repeated} of {len(bench.times)} runs" if bench.memo else ""),
            }
        )
    width = max([len(r["command"]) for r in rows] + [7])
    head = (
        f"{'command':<{width}}  {'median ms':>9}  {'min ms':>8}  {'x uv':>6}  {'x pip':>6}  "
        f"{'lines':>5}  note"
    )
    print()
    print(f"{repeat} timed runs each, round-robin, after one warm-up run each")
    print(head)
    print("-" * len(head))
    for r in rows:
        x_uv = f"{r['x_uv']:.2f}" if r["x_uv"] is not None else "-"
        x_pip = f"{r['x_pip']:.2f}" if r["x_pip"] is not None else "-"
        print(
            f"{r['command']:<{width}}  {r['median_ms']:>9.1f}  {r['min_ms']:>8.1f}  "
            f"{x_uv:>6}  {x_pip:>6}  {r['stdout_lines']:>5}  {r['note']}"
        )
    print()
    print(
        "The ratios (x uv, x pip: median over the median of uv pip freeze / pip freeze) are the "
        "headline;\nabsolute milliseconds depend on the machine. 'lines' is the stdout of the "
        "warm-up run (for freeze: one line per distribution)."
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument(
        "--packages", type=int, default=170, help="synthetic distributions (default 170)"
    )
    p.add_argument("--venv", type=Path, help="an existing environment (directory or interpreter)")
    p.add_argument("--repeat", type=int, default=15, help="timed runs per command (default 15)")
    p.add_argument(
        "--inside",
        action="store_true",
        help="make the built venv able to import envlock (this checkout and its dependencies, "
        "through a .pth, adding no distributions) and time envlock run in-process there",
    )
    p.add_argument(
        "--with-pip",
        action="store_true",
        help="put pip in the built venv (ensurepip), so that pip freeze runs as VENVPY -m pip",
    )
    p.add_argument("--only-baselines", action="store_true", help="time pip freeze and uv only")
    p.add_argument("--json", type=Path, help="also write the results to this file as JSON")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args(argv)
    if args.repeat < 1 or args.packages < 1:
        p.error("--repeat and --packages must be at least 1")
    if args.venv is not None and args.inside:
        print("note: --inside only applies to a venv this script builds; ignored")

    # An installed envlock has bytecode (pip compiles it); match that even where
    # PYTHONDONTWRITEBYTECODE is set, so that no run pays for compiling envlock's sources.
    import compileall

    compileall.compile_dir(str(REPO / "envlock"), quiet=1)

    work = Path(tempfile.mkdtemp(prefix="envlock-bench-"))
    try:
        env = clean_env()
        env["ENVLOCK_CACHE_DIR"] = str(work / "cache")
        if args.venv is not None:
            python = interpreter_of(args.venv)
        else:
            python = build_env(work, args.packages, args.inside, args.with_pip)
        print(f"environment: {python}")
        benches = warm_up(plan(python, work, env, args.only_baselines), work, env)
        if not benches:
            print("nothing to time")
            return 0
        keep_results(benches, work, env)
        measure(benches, args.repeat, work, env)
        rows = report(benches, args.repeat)
        if args.json is not None:
            meta = {
                "python": str(python),
                "packages": None if args.venv else args.packages,
                "repeat": args.repeat,
                "host_python": sys.version.split()[0],
                "platform": sys.platform,
            }
            args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
