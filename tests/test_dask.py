"""``envlock verify --dask`` / ``capture --dask`` and ``envlock.verify_cluster`` on a real
``LocalCluster`` with worker processes, plus ``dask worker`` processes started beside it: one
from a virtual environment with another version of a package, one that stops answering and is
then killed while envlock waits for it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from factory import build_wheel, make_venv, pip_install, site_packages
from support import envlock as run_envlock
from support import host_env

import envlock
from envlock import api, remote
from envlock.cluster import (
    RUNTIME_NOTE,
    VARIABLES_NOTE,
    ClusterResult,
    WorkersDisagree,
)
from envlock.model import Variables
from envlock.report import cluster as report

pytest.importorskip("distributed", reason="needs distributed: pip install -e '.[test]'")

SCHEMAS = Path(__file__).parents[1] / "schemas"
CLUSTER_SCHEMA = json.loads((SCHEMAS / "cluster-report.schema.json").read_text())
REPORT_SCHEMA = json.loads((SCHEMAS / "report.schema.json").read_text())
# What Dask's nanny sets in the worker processes it starts (distributed.nanny.pre-spawn-environ,
# and PYTHONHASHSEED): set here for every process of the test, so that all agree.
NANNY_VARIABLES = {
    "PYTHONHASHSEED": "6640",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}
PACKAGE = "tomli-w"  # installed on the host (envlock needs it); the odd worker has 0.0.1


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A LocalCluster of two worker processes (with nannies), and a client of it. The nanny
    writes its variables into this process's environment: it is restored afterwards."""
    from distributed import Client, LocalCluster

    saved = dict(os.environ)
    os.environ.update(NANNY_VARIABLES, ENVLOCK_CACHE_DIR="off")
    try:
        cluster = LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        )
        with cluster, Client(cluster, set_as_default=False) as connected:
            yield connected
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def lockfile(host_lockfile: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The host interpreter's lockfile, recording the variables Dask's nanny sets."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENVLOCK_CACHE_DIR", "off")
        lock = api.load(host_lockfile)
    ((name, env),) = lock.environments.items()
    assert env.variables is not None and PACKAGE in env.package_map()
    variables = Variables(
        set={**env.variables.set, **NANNY_VARIABLES},
        unset=tuple(n for n in env.variables.unset if n not in NANNY_VARIABLES),
    )
    path = tmp_path_factory.mktemp("dask") / "envlock.yaml"
    api.dump(lock.with_environment(name, replace(env, variables=variables)), path)
    return path


@pytest.fixture(scope="module")
def odd_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv on top of the host's import path (so it has distributed) whose own
    site-packages holds another version of PACKAGE's metadata, which shadows the host's."""
    where = tmp_path_factory.mktemp("odd")
    python = make_venv(where / "venv")
    # The host's folders after the venv's own (a .pth line is appended to sys.path): the
    # host may itself be a venv, which --system-site-packages would not reach.
    host = [p for p in sys.path if p and os.path.isdir(p)]
    (site_packages(python) / "_host.pth").write_text("".join(f"{p}\n" for p in host), "utf-8")
    build_wheel(where / "wheels", PACKAGE, "0.0.1", modules={})  # metadata only: imports unchanged
    pip_install(python, "--ignore-installed", "--no-deps", "--find-links", str(where / "wheels"),
                f"{PACKAGE}==0.0.1")  # fmt: skip
    return python


def _worker_names(client: Any) -> dict[str, str]:
    return {m.name or str(m.address): str(m.address) for m in remote.workers(client)}


@contextlib.contextmanager
def dask_worker(
    client: Any, python: Path, name: str, log: Path, *extra: str
) -> Iterator[tuple[int, str]]:
    """``dask worker SCHEDULER`` (no nanny: one process) from ``python``; (pid, address) once
    the scheduler knows it. Killed, and forgotten by the scheduler, on exit."""
    scheduler = client.scheduler.address
    cmd = [str(python), "-m", "distributed.cli.dask_worker", scheduler, "--no-nanny",
           "--nthreads", "1", "--no-dashboard", "--name", name, *extra]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                cwd=log.parent, env={**os.environ})  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while name not in _worker_names(client):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"worker {name} never registered"
            time.sleep(0.1)
        yield proc.pid, _worker_names(client)[name]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 30
        while name in _worker_names(client) and time.monotonic() < deadline:
            time.sleep(0.1)


def asking(port: int) -> int:
    """How many connections this process has open to ``port``."""
    import psutil  # a dependency of distributed

    own = psutil.Process()
    connections = getattr(own, "net_connections", None) or own.connections
    return sum(1 for c in connections(kind="tcp") if c.raddr and c.raddr.port == port)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_envlock(*args, cwd=cwd, env=host_env())


def check_json(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    jsonschema.Draft202012Validator(CLUSTER_SCHEMA).validate(data)
    for group in data["groups"]:
        jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(group)
    assert list(data) == CLUSTER_SCHEMA["required"]
    return data


def roles(result: ClusterResult) -> list[list[str]]:
    return [[m.role for m in g.members] for g in result.groups]


def test_a_cluster_of_the_lockfiles_environment_matches(
    client: Any, lockfile: Path, tmp_path: Path
) -> None:
    result = envlock.verify_cluster(client, lockfile)
    assert result.exit_code == 0 and result.ok and result.status == "match", report.render_text(
        result, "envlock.yaml"
    )
    assert roles(result) == [["client", "scheduler", "worker", "worker"]]  # one group
    assert VARIABLES_NOTE in result.notes
    if api.needs_runtime(api.load(lockfile)):
        assert RUNTIME_NOTE in result.notes

    address = client.scheduler.address
    done = cli("verify", str(lockfile), "--dask", address, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    data = check_json(done.stdout)
    assert data["status"] == "match" and data["counts"]["members"] == 4
    assert [m["role"] for m in data["members"]] == ["client", "scheduler", "worker", "worker"]
    assert "envlock: not checked: variables: compared on the workers" in done.stderr

    # capture --dask records what the workers share; the cluster then verifies against it.
    done = cli("capture", "-q", "cluster.yaml", "--dask", address, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    captured = api.load(tmp_path / "cluster.yaml")
    (env,) = captured.environments.values()
    assert env.variables is not None and env.variables.set["PYTHONHASHSEED"] == "6640"
    assert env.blas is None and env.cuda is None
    assert api.load(lockfile).environments[next(iter(captured.environments))].packages == (
        env.packages
    )
    done = cli("verify", "cluster.yaml", "--dask", address, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.endswith("cluster: all 4 members match\n")


def test_a_worker_from_another_environment_is_singled_out(
    client: Any, lockfile: Path, odd_python: Path, tmp_path: Path
) -> None:
    with dask_worker(client, odd_python, "odd", tmp_path / "odd.log") as (_, odd):
        result = envlock.verify_cluster(client, str(lockfile), timeout=30)
        assert result.exit_code == 1 and result.status == "drift"
        drift, same = result.groups
        assert [m.address for m in drift.members] == [odd] and drift.members[0].name == "odd"
        (finding,) = drift.result.findings
        assert (finding.category, finding.subject, finding.actual) == ("version", PACKAGE, "0.0.1")
        assert same.status == "match" and len(same.members) == 4

        # The same through the command line: text (and JUnit to a file), and JSON.
        address = client.scheduler.address
        verify = ("verify", str(lockfile), "--dask", address)
        done = cli(*verify, "--format", "junit", "--output", "report.xml", cwd=tmp_path)
        assert done.returncode == 1, done.stdout + done.stderr
        out = done.stdout
        assert f"  drift      1 worker: {odd} (odd)\n" in out
        assert "  match      client, scheduler " in out and ", 2 workers: " in out
        assert out.count(f"{PACKAGE}: ") == 1
        assert f"{PACKAGE}: " in out.split(f"== 1 worker: {odd} (odd)\n")[1]
        assert out.endswith("cluster: drift on 1 of 5 checked members\n")
        suites = list(ET.parse(tmp_path / "report.xml").getroot())
        assert [s.get("failures") for s in suites] == ["1", "0"]
        assert odd in (suites[0].get("name") or "")
        data = check_json(cli(*verify, "--format", "json", cwd=tmp_path).stdout)
        assert data["counts"] == {"members": 5, "checked": 5, "match": 4, "warnings": 0,
                                  "drift": 1, "not_checked": 0}  # fmt: skip
        assert [m["member"] for m in data["members"] if m["status"] == "drift"] == [f"{odd} (odd)"]
        assert data["groups"][0]["members"] == [f"{odd} (odd)"]
        github = report.render_github(result, "envlock.yaml").splitlines()
        assert len(github) == 1 and github[0].startswith("::error ") and odd in github[0]
        markdown = report.render_markdown(result, "envlock.yaml")
        assert f"| drift | 1 worker: {odd} (odd) |" in markdown

        # The workers disagree: capture refuses, and says which.
        done = cli("capture", "cluster.yaml", "--dask", address, cwd=tmp_path)
        assert done.returncode == 1 and not (tmp_path / "cluster.yaml").exists()
        assert "1 of 3 differ from tcp://" in done.stderr and f"({odd} (odd))" in done.stderr
        assert f"{PACKAGE}: " in done.stderr
        with pytest.raises(WorkersDisagree) as raised:
            envlock.capture_cluster(client)
        assert raised.value.reference.role == "worker" and raised.value.reference.address != odd
        assert raised.value.result.exit_code == 1


def test_workers_that_do_not_answer_or_die_are_reported(
    client: Any, lockfile: Path, tmp_path: Path
) -> None:
    with dask_worker(client, Path(sys.executable), "stray", tmp_path / "stray.log") as (pid, stray):
        os.kill(pid, signal.SIGSTOP)  # it accepts connections, and never answers
        started = time.monotonic()
        result = envlock.verify_cluster(client, lockfile, timeout=2)
        assert time.monotonic() - started < 20
        (unchecked,) = result.unchecked
        assert (unchecked.member.address, unchecked.status) == (stray, "timeout")
        assert unchecked.problem == "no answer in 2 s"
        assert roles(result) == [["client", "scheduler", "worker", "worker"]]
        assert result.exit_code == 3 and result.status == "incomplete"
        assert f"  no answer  1 worker: {stray} (stray): no answer in 2 s\n" in (
            report.render_text(result, "envlock.yaml")
        )
        assert f"::error file=envlock.yaml,title=envlock could not check::{stray}" in (
            report.render_github(result, "envlock.yaml")
        )

        # Killed while envlock waits for its answer: reported, and the rest still verified.
        cmd = [sys.executable, "-m", "envlock", "verify", str(lockfile), "--dask",
               client.scheduler.address, "--format", "json"]  # fmt: skip
        run = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=tmp_path, env=host_env())  # fmt: skip
        try:
            port = int(stray.rpartition(":")[2])
            asked = asking(port)  # the scheduler runs in this process
            deadline = time.monotonic() + 30
            while asking(port) <= asked:  # until the scheduler asks the stopped worker
                assert run.poll() is None and time.monotonic() < deadline, run.communicate()
                time.sleep(0.05)
            os.kill(pid, signal.SIGKILL)
            out, err = run.communicate(timeout=60)
        finally:
            run.kill()
        assert run.returncode == 3, out + err
        data = check_json(out)
        (lost,) = [m for m in data["members"] if m["address"] == stray]
        assert lost["status"] == "lost" and lost["group"] is None and lost["problem"]
        assert data["status"] == "incomplete" and data["counts"]["match"] == 4


BREAKER = """\
import builtins

# distributed may import a preload module twice: patch once
_compile = getattr(builtins, "_original_compile", builtins.compile)
builtins._original_compile = _compile


def compile(source, filename, *args, **kwargs):
    if filename == "<envlock probe>":
        raise RuntimeError("this worker cannot compile the probe")
    return _compile(source, filename, *args, **kwargs)


builtins.compile = compile
"""


def test_a_worker_whose_probe_fails_is_reported(
    client: Any, lockfile: Path, tmp_path: Path
) -> None:
    """A worker preloaded with a module that makes the probe raise there: ``failed``, with the
    reason, and the rest of the cluster still verified."""
    breaker = tmp_path / "envlock_breaker.py"
    breaker.write_text(BREAKER, encoding="utf-8")
    log = tmp_path / "broken.log"
    with dask_worker(client, Path(sys.executable), "broken", log, "--preload", str(breaker)) as (
        _,
        broken,
    ):
        result = envlock.verify_cluster(client, lockfile, timeout=30)
        (unchecked,) = result.unchecked
        assert (unchecked.member.address, unchecked.status) == (broken, "failed")
        assert "cannot compile the probe" in (unchecked.problem or "")
        assert roles(result) == [["client", "scheduler", "worker", "worker"]]
        assert result.exit_code == 3


def test_without_distributed_the_option_says_what_to_install(
    lockfile: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "distributed.py").write_text("raise ImportError('not installed here')\n")
    env = host_env(PYTHONPATH=str(site))
    done = run_envlock(
        "verify", str(lockfile), "--dask", "tcp://127.0.0.1:1", cwd=tmp_path, env=env
    )
    assert done.returncode == 2
    assert done.stderr.strip().endswith("pip install distributed"), done.stderr
    done = run_envlock("verify", "--dask", "x", "--python", sys.executable, cwd=tmp_path)
    assert done.returncode == 2 and "drop --python" in done.stderr
    done = run_envlock("verify", str(lockfile), "--dask", "scheduler", cwd=tmp_path)
    assert done.returncode == 2 and "'scheduler' is not a Dask scheduler address" in done.stderr


def test_two_hundred_identical_workers_print_once() -> None:
    from test_compare import BASE

    from envlock.cluster import _groups
    from envlock.model import Package

    odd = replace(BASE, packages=(*BASE.packages, Package("extra", "0.1", "pip")))
    workers = [remote.Member("worker", f"tcp://10.0.{i // 250}.{i % 250}:8000") for i in range(201)]
    checked = [
        (m, api.result("linux-64", BASE, odd if i == 7 else BASE)) for i, m in enumerate(workers)
    ]
    result = ClusterResult("tcp://10.9.9.9:8786", _groups(checked))
    assert [(g.status, len(g.members)) for g in result.groups] == [("warnings", 1), ("match", 200)]
    text = report.render_text(result, "envlock.yaml")
    assert text.count("tcp://10.0.") == 1 + 6 + 1  # the odd one (summary, details), six of 200
    assert "  match      200 workers: tcp://10.0.0.0:8000, " in text
    assert ", tcp://10.0.0.5:8000 and 194 more\n" in text  # by address, numbers as numbers
    assert text.count("extra: 0.1") == 1 and text.endswith("all 201 members match, with warnings\n")
    data = json.loads(report.render_json(result, "envlock.yaml"))
    jsonschema.Draft202012Validator(CLUSTER_SCHEMA).validate(data)
    assert len(data["members"]) == 201 and len(data["groups"][1]["members"]) == 200
