"""A fuzz target for envlock's lockfile loaders, run by hand (not by pytest)::

    python tests/fuzz_loaders.py --seconds 30

Feeds ``envlock.lockfile.load`` and ``envlock.foreign.load`` random bytes and mutations
(bit flips, deletions, duplications, splices, YAML and TOML tokens) of real lockfiles:
``examples/envlock.yaml`` and ``envlock.toml`` and, when present, the shared corpus of
foreign lockfiles. Both YAML loaders take turns (``ENVLOCK_YAML_LOADER``). Reports every
input that raises anything but the documented ``LockfileError`` / ``UsageError``, takes
longer than ``--slow`` seconds, runs out of memory (``--memory-mb``, a limit on the address
space of the process that loads), or crashes it (a signal: the loading runs in a child
process, restarted after a crash). Each finding is saved under ``--out`` with its traceback.
Exit status 0: nothing found; 1: findings. Standard library only (and envlock).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "lockfiles"
MAX_GROWTH = 2_000_000  # bytes one repetition may add
TOKENS = [
    b"[", b"]", b"{", b"}", b": ", b"- ", b"? ", b",", b"#", b"&a ", b"*a", b"!!binary aGk=",
    b"!!set {a}", b"!!python/object:os.system ", b"---\n", b"...\n", b"%YAML 1.1\n",
    b"<<: *a\n", b"2024-01-01", b"3.10", b"1e999", b".nan", b"nan", b"inf", b"null", b"~",
    b"[[", b"]]", b"a.b.c", b'"""', b"'''", b"=", b"\n", b"\t", b"  ", b"\x00", b"\xff",
    b"\xef\xbb\xbf", b"\xe2\x80\xa8", b"\x1b[2J", b"- " * 40, b"[" * 70, b"{a: " * 70,
    b"a." * 70, b"@EXPLICIT\n", b"version: 6\n", b"lock-version = '1.0'\n",
]  # fmt: skip


def seeds(corpus: Path | None, max_size: int) -> list[tuple[str, bytes, str]]:
    """(file name, content, target) of every seed: ``own`` for envlock's loader,
    ``foreign`` for the foreign one."""
    found = [
        (p.name, p.read_bytes(), "own")
        for p in (ROOT / "examples" / "envlock.yaml", ROOT / "examples" / "envlock.toml")
    ]
    if corpus is not None and corpus.is_dir():
        for path in sorted(corpus.glob("*/*")):
            if path.is_file() and path.stat().st_size <= max_size:
                found.append((path.name, path.read_bytes(), "foreign"))
    return found


def mutate(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    for _ in range(rng.randint(1, 6)):
        n = len(data)
        i = rng.randint(0, n)
        j = min(n, i + rng.randint(0, 256))
        op = rng.randrange(7)
        if op == 0 and n:
            k = rng.randrange(n)
            data = data[:k] + bytes([data[k] ^ (1 << rng.randrange(8))]) + data[k + 1 :]
        elif op == 1:
            data = data[:i] + data[j:]
        elif op == 2:  # repeat a span: a few times, or enough to nest or count very deep
            times = rng.randint(1, 100) if rng.random() < 0.97 else rng.randint(1, 40_000)
            times = min(times, MAX_GROWTH // max(1, j - i))
            data = data[:j] + data[i:j] * times + data[j:]
        elif op == 3:  # insert a token: once or a few times, or enough to nest very deep
            token = rng.choice(TOKENS)
            times = rng.randint(1, 3) if rng.random() < 0.97 else rng.randint(1, 40_000)
            data = data[:i] + token * min(times, MAX_GROWTH // len(token)) + data[i:]
        elif op == 4:
            other = rng.choice(others)
            k = rng.randint(0, len(other))
            data = data[:i] + other[k : k + rng.randint(0, 512)] + data[j:]
        elif op == 5:
            lines = data.split(b"\n")
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
            data = b"\n".join(lines)
        else:
            lines = data.split(b"\n")
            a = rng.randrange(len(lines))
            lines[a] = b" " * rng.randint(0, 16) + lines[a].lstrip(b" ")
            data = b"\n".join(lines)
    return data


def worker(args: argparse.Namespace) -> int:
    """Load inputs until the deadline; write the one being tried to ``current`` first, so that
    the parent can save it if this process dies."""
    try:
        import resource

        limit = args.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    os.environ["ENVLOCK_CACHE_DIR"] = "off"
    from envlock import foreign, lockfile
    from envlock.errors import LockfileError, UsageError

    out, work = Path(args.out), Path(args.work)
    rng = random.Random(args.seed)
    pool = seeds(args.corpus, args.max_seed_size)
    contents = [content for _, content, _ in pool]
    formats = [None, None, None, *foreign.FORMATS]
    count = 0
    while time.monotonic() < args.deadline:
        count += 1
        if rng.random() < 0.1:
            name, target = rng.choice(["envlock.yaml", "envlock.toml", "pixi.lock", "x.txt"]), "own"
            data = rng.randbytes(rng.randint(0, 512))
            if name in ("pixi.lock", "x.txt"):
                target = "foreign"
        else:
            name, seed, target = rng.choice(pool)
            data = mutate(rng, seed, contents)
        loader = rng.choice(["c", "pure"])
        fmt = rng.choice(formats) if target == "foreign" else None
        os.environ["ENVLOCK_YAML_LOADER"] = loader
        path = work / name
        path.write_bytes(data)
        (out / "current").write_text(f"{path}\n{loader}\n{target}\n{fmt}\n", encoding="utf-8")
        start = time.monotonic()
        problem = None
        try:
            if target == "own":
                lockfile.load(path)
            else:
                foreign.load(path, fmt)
        except (LockfileError, UsageError):
            pass
        except BaseException as e:  # any other exception is the finding
            if isinstance(e, KeyboardInterrupt):
                raise
            problem = "".join(traceback.format_exception(e))
        elapsed = time.monotonic() - start
        allowed = args.slow + args.slow_per_mb * len(data) / 2**20
        if problem is None and elapsed > allowed:
            problem = f"slow: {elapsed:.1f} s for {len(data):,} bytes (allowed {allowed:.1f} s)\n"
        if problem is not None:
            save(out, path, f"loader={loader} target={target} format={fmt}\n{problem}")
    print(f"worker: {count} inputs", file=sys.stderr)
    return 0


def save(out: Path, path: Path, report: str) -> None:
    n = len(list(out.glob("finding-*.report")))
    kept = out / f"finding-{n}{path.suffix or '.bin'}"
    shutil.copyfile(path, kept)
    (out / f"finding-{n}.report").write_text(f"{path.name}\n{report}", encoding="utf-8")
    first = report.strip().splitlines()[-1] if report.strip() else "?"
    print(f"FINDING {kept}: {first}", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=30.0, help="how long to run (default 30)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: from time)")
    p.add_argument("--corpus", type=Path, default=CORPUS, help="foreign lockfiles to mutate")
    p.add_argument("--max-seed-size", type=int, default=64_000, help="bytes; larger are skipped")
    p.add_argument("--slow", type=float, default=2.0, help="seconds that count as a finding")
    p.add_argument(
        "--slow-per-mb", type=float, default=5.0, help="and more seconds per MB of input"
    )
    p.add_argument("--memory-mb", type=int, default=2048, help="address-space limit of a loader")
    p.add_argument("--out", type=Path, default=None, help="where findings go (default: temp)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--work", help=argparse.SUPPRESS)
    p.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    out = args.out or Path(tempfile.mkdtemp(prefix="envlock-fuzz-"))
    out.mkdir(parents=True, exist_ok=True)
    seed = args.seed if args.seed is not None else int(time.time())
    deadline = time.monotonic() + args.seconds
    crashes = restarts = 0
    with tempfile.TemporaryDirectory(prefix="envlock-fuzz-work-") as work:
        while time.monotonic() < deadline:
            cmd = [
                sys.executable, __file__, "--worker", "--out", str(out), "--work", work,
                "--deadline", str(deadline), "--seed", str(seed + restarts),
                "--corpus", str(args.corpus), "--max-seed-size", str(args.max_seed_size),
                "--slow", str(args.slow), "--slow-per-mb", str(args.slow_per_mb),
                "--memory-mb", str(args.memory_mb),
            ]  # fmt: skip
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            }
            try:
                code = subprocess.run(cmd, env=env, timeout=args.seconds + 60).returncode
            except subprocess.TimeoutExpired:
                code = -9  # one input never finished: a hang
            restarts += 1
            if code == 0:
                break
            current = (out / "current").read_text(encoding="utf-8").split("\n")
            crashes += 1
            how = f"loader={current[1]} target={current[2]} format={current[3]}"
            save(out, Path(current[0]), f"{how}\nthe loading process died: exit status {code}\n")
    findings = sorted(out.glob("finding-*.report"))
    (out / "current").unlink(missing_ok=True)
    print(
        f"fuzz_loaders: seed {seed}, {args.seconds:.0f} s, {crashes} crash(es), "
        f"{len(findings)} finding(s) in {out}"
    )
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
