"""Tests for the local and submitit executors and the result protocol."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from scalinglaws.design._executors import (
    Executor,
    ExecutorError,
    LocalExecutor,
    ResultError,
    SubmititExecutor,
    format_command,
    parse_result,
)

PY = shlex.quote(sys.executable)


def _wait(ex, job_id, limit=30.0):
    deadline = time.time() + limit
    while True:
        status = ex.poll(job_id)
        if status.state != "running" or time.time() > deadline:
            return status
        time.sleep(0.05)


def _group_alive(pgid):
    """Any non-zombie process in process group ``pgid`` (Linux /proc)."""
    time.sleep(0.2)
    for stat in os.listdir("/proc"):
        if not stat.isdigit():
            continue
        try:
            text = Path(f"/proc/{stat}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


# ---------------------------------------------------------------- result protocol


def test_parse_result(tmp_path):
    assert parse_result('progress\n{"loss": 3.21, "cost": 5}\n\n') == {"loss": 3.21, "cost": 5}
    with pytest.raises(ResultError, match="no JSON on the last line of stdout: 'hello'"):
        parse_result("hello\n")
    with pytest.raises(ResultError, match="printed nothing"):
        parse_result("  \n", tmp_path / "missing.json")
    with pytest.raises(ResultError, match="JSON but a list, not an object"):
        parse_result("[1, 2]")
    with pytest.raises(ResultError, match="result key 'loss' is nan"):
        parse_result('{"loss": NaN}')
    with pytest.raises(ResultError, match=r"result key 'x'\[1\] is inf"):
        parse_result('{"x": [1, Infinity]}')
    f = tmp_path / "r.json"
    f.write_text('{"loss": 1.5}')
    assert parse_result('{"loss": 9}', f) == {"loss": 1.5}  # the file wins
    f.write_text("{oops")
    with pytest.raises(ResultError, match="no JSON on the result file"):
        parse_result("", f)
    assert issubclass(ResultError, Exception) and "\n" not in str(ResultError("x"))


def test_format_command():
    cmd = format_command(
        "run --N {N} --D {D:.0e} --tag {tag} --out {result}", {"N": 2e4, "D": 1e5, "tag": "a b"}
    )
    assert cmd == "run --N 20000 --D 1e+05 --tag 'a b' --out {result}"
    with pytest.raises(ExecutorError, match=r"placeholder \{M\} has no value"):
        format_command("run {M}", {"N": 1})


# ---------------------------------------------------------------- local executor


def test_local_parallel_cap_and_success(tmp_path):
    ex = LocalExecutor(max_parallel=2, workdir=tmp_path / "runs")
    assert isinstance(ex, Executor)
    cmd = (
        f"{PY} -c 'import json, time; t0 = time.time(); time.sleep(0.6); "
        'print(json.dumps({"t0": t0, "t1": time.time(), "loss": 2.5}))\''
    )
    a = ex.submit(1, cmd)
    b = ex.submit(2, cmd)
    assert ex.slots() == 0
    with pytest.raises(ExecutorError, match="no free slot"):
        ex.submit(3, cmd)
    assert ex.submit(1, cmd) == a  # idempotent per trial id, not a new launch
    ra, rb = _wait(ex, a), _wait(ex, b)
    assert ra.state == rb.state == "succeeded", (ra, rb)
    assert ra.result["loss"] == 2.5
    # the two ran at the same time
    assert max(ra.result["t0"], rb.result["t0"]) < min(ra.result["t1"], rb.result["t1"])
    assert ex.slots() == 2
    c = ex.submit(
        3, f'{PY} -c \'import json; json.dump({{"loss": 1.0}}, open("\'$SL_RESULT\'", "w"))\''
    )
    rc = _wait(ex, c)
    assert rc.state == "succeeded" and rc.result == {"loss": 1.0}, rc
    # {result} placeholder is replaced by the job's result file
    d = ex.submit(4, "echo '{\"loss\": 0.5}' > {result}; echo done")
    assert _wait(ex, d).result == {"loss": 0.5}
    assert os.path.isdir(ra.log_path)


def test_local_failures(tmp_path):
    ex = LocalExecutor(max_parallel=2, timeout=0.5, workdir=tmp_path / "runs")
    bad = ex.submit(1, "echo partial; echo 'CUDA out of memory' >&2; exit 3")
    garbage = ex.submit(2, "echo hello world")
    s = _wait(ex, bad)
    assert s.state == "failed" and s.reason.startswith(
        "exit code 3; stderr tail: CUDA out of memory"
    )
    s = _wait(ex, garbage)
    assert s.state == "failed" and "no JSON" in s.reason and "hello world" in s.reason
    hang = ex.submit(3, "sleep 30")
    time.sleep(0.7)
    s = ex.poll(hang)
    assert s.state == "failed" and s.reason.startswith("timed out after 0.5 s"), s
    pid = int((tmp_path / "runs" / hang / "pid").read_text())
    assert not _group_alive(pid)  # the whole process group is gone
    assert ex.slots() == 2
    # killed from outside: no exit code
    ex2 = LocalExecutor(max_parallel=2, workdir=tmp_path / "runs")
    gone = ex2.submit(4, "sleep 30")
    assert ex2.poll(gone).state == "running"
    os.killpg(int((tmp_path / "runs" / gone / "pid").read_text()), signal.SIGKILL)
    time.sleep(0.1)
    s = ex2.poll(gone)
    assert s.state == "failed" and "process vanished" in s.reason
    # cancel
    c = ex2.submit(5, "sleep 30")
    ex2.cancel(c)
    assert ex2.poll(c).reason.startswith("cancelled")
    assert LocalExecutor(workdir=tmp_path / "runs").poll(c).reason.startswith("cancelled")
    with pytest.raises(ExecutorError, match="never launched"):
        ex2.poll("trial-99")


def test_local_restart_new_instance_polls_old_job(tmp_path):
    """A driver is SIGKILLed after submitting; a new executor re-polls and finishes the job."""
    runs = tmp_path / "runs"
    counter = tmp_path / "launches"
    cmd = f"echo x >> {counter}; sleep 0.8; echo '{{\"loss\": 4.0}}'"
    driver = textwrap.dedent(
        f"""
        import os, signal
        from scalinglaws.design._executors import LocalExecutor
        ex = LocalExecutor(max_parallel=1, workdir={str(runs)!r})
        print(ex.submit(7, {cmd!r}), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", driver], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL
    job_id = proc.stdout.strip()
    fresh = LocalExecutor(max_parallel=1, workdir=runs)
    assert fresh.poll(job_id).state == "running"
    assert fresh.slots() == 0  # the old driver's job still occupies the slot
    assert fresh.submit(7, cmd) == job_id  # resubmitting the proposed trial does not relaunch
    status = _wait(fresh, job_id)
    assert status.state == "succeeded" and status.result == {"loss": 4.0}
    assert counter.read_text().count("x") == 1
    assert fresh.slots() == 1


def test_local_launch_claim_runs_a_job_once(tmp_path):
    """The window a pid file cannot close: a driver dies after starting the wrapper but before
    the wrapper wrote its pid, and a restarted driver submits the trial again. Simulated by a
    second wrapper for the same job and by a submit that sees the claim but no pid yet: the
    command runs once, and the first job's files are left alone."""
    runs = tmp_path / "runs"
    counter = tmp_path / "launches"
    ex = LocalExecutor(max_parallel=2, workdir=runs)
    job_id = ex.submit(3, f"echo x >> {counter}; sleep 0.6; echo '{{\"loss\": 2.0}}'")
    jobdir = runs / job_id
    assert (jobdir / "claim").is_dir()
    env = {**os.environ, "SL_JOB_DIR": str(jobdir)}
    late = subprocess.run(["/bin/sh", str(jobdir / "run.sh")], env=env, timeout=30)
    assert late.returncode == 0
    pid = (jobdir / "pid").read_text()
    (jobdir / "pid").unlink()  # as if the first wrapper had not written its pid yet
    again = LocalExecutor(max_parallel=2, workdir=runs)
    assert again.submit(3, f"echo y >> {counter}") == job_id
    (jobdir / "pid").write_text(pid)
    status = _wait(ex, job_id)
    assert status.state == "succeeded" and status.result == {"loss": 2.0}
    assert counter.read_text() == "x\n"


# ---------------------------------------------------------------- submitit


def test_submitit_local_end_to_end(tmp_path):
    ex = SubmititExecutor(tmp_path / "submitit", max_parallel=1, timeout=120, cluster="local")
    job_id = ex.submit(1, 'echo working >&2; echo \'{"loss": 1.75, "cost": 3}\'')
    assert ex.submit(1, "ignored") == job_id
    status = _wait(ex, job_id, limit=120)
    assert status.state == "succeeded", status
    assert status.result == {"loss": 1.75, "cost": 3}
    # a new instance (restarted driver) re-attaches to the finished job
    again = SubmititExecutor(tmp_path / "submitit", max_parallel=1, cluster="local")
    assert again.poll(job_id).result == {"loss": 1.75, "cost": 3}
    bad = ex.submit(2, "echo nope")
    status = _wait(ex, bad, limit=120)
    assert status.state == "failed" and "no JSON" in status.reason, status
    assert json.loads('{"ok": 1}')
