"""The CI examples work: each workflow file parses, and its envlock commands run here, in the
order the jobs run them, with the interpreter running the tests standing in for the CI image
(the `pip install` and artifact steps are the CI system's, not envlock's)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

CI = Path(__file__).resolve().parents[1] / "examples" / "ci"


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    env["GITHUB_STEP_SUMMARY"] = str(tmp / "summary.md")
    env.update(extra)
    return env


def run_envlock_commands(commands: list[str], cwd: Path) -> list[subprocess.CompletedProcess[str]]:
    done = []
    for command in commands:
        argv = shlex.split(command)
        if argv[0] != "envlock":
            continue  # pip install, artifact up/download: the CI system's part
        # --no-runtime: what these examples show is the flow, not numpy's import time
        proc = subprocess.run(
            [sys.executable, "-m", "envlock", *argv[1:], "--no-runtime"],
            cwd=cwd,
            env=_env(cwd),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, (command, proc.stdout, proc.stderr)
        done.append(proc)
    return done


def test_github_actions_workflow(tmp_path: Path) -> None:
    workflow = yaml.safe_load((CI / "github-actions.yml").read_text())
    assert set(workflow["jobs"]) == {"capture", "verify"}
    assert workflow["jobs"]["verify"]["needs"] == "capture"
    steps = [
        step["run"]
        for job in ("capture", "verify")
        for step in workflow["jobs"][job]["steps"]
        if "run" in step
    ]
    _capture, github, junit = run_envlock_commands(steps, tmp_path)
    assert (tmp_path / "envlock.ci.yaml").is_file()
    assert github.stdout == ""  # no drift: no annotations
    assert "envlock: matches" in (tmp_path / "summary.md").read_text()
    suite = ET.parse(tmp_path / "envlock-junit.xml").getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests") or 0) > 0
    assert "matches" in junit.stdout  # the text report still printed


def test_gitlab_ci_job(tmp_path: Path) -> None:
    pipeline = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    assert pipeline["stages"] == ["capture", "verify"]
    verify = pipeline["envlock-verify"]
    assert verify["artifacts"]["reports"]["junit"] == "envlock-junit.xml"
    commands = pipeline["envlock-capture"]["script"] + verify["script"]
    run_envlock_commands(commands, tmp_path)
    suite = ET.parse(tmp_path / verify["artifacts"]["reports"]["junit"]).getroot()
    assert suite.tag == "testsuites" and suite.get("failures") == "0"
