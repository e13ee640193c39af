"""Executors: launch a trial's shell command, re-poll it from any process, parse its JSON result.

One small interface, :class:`Executor`, with two implementations:

- :class:`LocalExecutor`: a pool of detached subprocesses on this machine. Every job lives in
  its own directory ``<workdir>/trial-<id>/`` holding ``cmd.sh`` (the command), ``started``
  (launch time), ``claim`` (a directory: the launch claim), ``pid``, ``stdout.log``,
  ``stderr.log``, ``result.json`` (if the command uses ``{result}``) and, once the command
  ends, ``exitcode``. Jobs run in their own session
  (``start_new_session=True``) so they survive their driver being SIGKILLed, and the job id is
  the directory name, so a *new* :class:`LocalExecutor` over the same ``workdir`` (a restarted
  driver) can poll, time out or cancel jobs launched by a previous process.
- :class:`SubmititExecutor`: the same contract on SLURM (or submitit's ``local`` cluster)
  through :mod:`submitit`.

Result protocol
---------------
A run's command is a shell command. The caller fills the input placeholders (``{N}``, ``{D}``,
...) with :func:`format_command`, leaving ``{result}``, which ``submit`` replaces by the path of
the job's ``result.json`` (also exported as ``$SL_RESULT``). The command either prints a JSON
object as the LAST non-empty line of stdout (``{"loss": 3.21}``, optionally with ``"cost"``)
or writes that object to ``{result}``; the file wins when both exist. :func:`parse_result`
turns garbage, missing JSON, non-objects and non-finite numbers into a one-line
:class:`ResultError`.

Idempotent submit
-----------------
``submit(trial_id, ...)`` launches at most one job per trial id and work directory: calling it
again for a trial that was already launched returns the existing job id. This is what lets a
restarted driver resubmit every ledger trial still in state ``proposed`` without launching
anything twice (see :mod:`scalinglaws.design._ledger`). Use one work directory per ledger.
The job's wrapper claims the launch atomically (``mkdir claim``) before it runs the command, so
even a driver killed between starting a job and seeing its pid, and restarted at once, cannot
run the command twice.

Retries are the driver's business (a new attempt is a new ledger trial with a new id), not the
executor's.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from scalinglaws._errors import ScalingLawsError

__all__ = [
    "Executor",
    "ExecutorError",
    "JobStatus",
    "LocalExecutor",
    "ResultError",
    "SubmititExecutor",
    "format_command",
    "parse_result",
]

JobState = Literal["running", "succeeded", "failed"]

_EXAMPLE = 'such as {"loss": 3.21}'
_TAIL_CHARS = 400


class ExecutorError(ScalingLawsError, RuntimeError):
    """A job could not be submitted, polled or cancelled (bad template, no slot, unknown id)."""


class ResultError(ScalingLawsError, ValueError):
    """A finished command's output is not one JSON object with finite numbers."""


@dataclass(frozen=True)
class JobStatus:
    """What :meth:`Executor.poll` knows about a job.

    ``state`` is ``running`` (pending or running), ``succeeded`` (``result`` holds the parsed JSON
    object) or ``failed`` (``reason`` is one line: exit code and log tail, ``timed out after
    600 s``, ``no JSON ...``, ``process vanished ...``, ``cancelled``). ``log_path`` is the
    job's directory, holding ``stdout.log`` and ``stderr.log``.
    """

    state: JobState
    result: dict[str, Any] | None = None
    reason: str = ""
    log_path: str | None = None


@runtime_checkable
class Executor(Protocol):
    """Launches shell commands for trials and reports on them; see the module docstring."""

    max_parallel: int
    timeout: float | None

    def submit(self, trial_id: int, command: str, workdir: Path | None = None) -> str:
        """Launch ``command`` (``{result}`` filled in) for ``trial_id``; return the job id.

        ``workdir`` is the directory the command runs in (default: the current one).
        Idempotent per trial id: a trial already launched returns its existing job id.
        """
        ...

    def poll(self, job_id: str) -> JobStatus:
        """Current state of a job, from any process (enforces the timeout)."""
        ...

    def cancel(self, job_id: str) -> None:
        """Stop a job; a later :meth:`poll` reports it failed with reason ``cancelled``."""
        ...

    def slots(self) -> int:
        """How many more jobs may be submitted now (``max_parallel`` minus running jobs)."""
        ...


# --------------------------------------------------------------------------- results


def _check_finite(value: Any, where: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ResultError(
                f"result {where} is {value}; the run diverged or printed a non-finite number, "
                "fix the run or let it fail"
            )
        return
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{where}.{k}" if where != "" else f"key {k!r}")
        return
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, f"{where}[{i}]")


def parse_result(stdout_text: str | None, result_path: str | Path | None = None) -> dict[str, Any]:
    """Parse a finished command's result: the ``result_path`` file if it exists and is not empty,
    else the last non-empty line of ``stdout_text``.

    Raises :class:`ResultError` (one line) for no output, no JSON, a JSON value that is not an
    object, or non-finite numbers (``NaN``/``Infinity``) anywhere in it.
    """
    text: str | None = None
    source = "last line of stdout"
    if result_path is not None:
        path = Path(result_path)
        if path.is_file():
            content = path.read_text(errors="replace").strip()
            if content:
                text, source = content, f"result file {path}"
    if text is None:
        lines = [line.strip() for line in (stdout_text or "").splitlines() if line.strip()]
        if not lines:
            raise ResultError(
                "no JSON result: the command printed nothing on stdout and wrote no result file; "
                f"print one JSON object {_EXAMPLE} as its last line"
            )
        text = lines[-1]
    try:
        value = json.loads(text)
    except ValueError:
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise ResultError(
            f"no JSON on the {source}: {shown!r}; print one JSON object {_EXAMPLE} as the last "
            "line of stdout (send other output to stderr or earlier lines)"
        ) from None
    if not isinstance(value, dict):
        raise ResultError(
            f"the {source} is JSON but a {type(value).__name__}, not an object; print one JSON "
            f"object {_EXAMPLE}"
        )
    _check_finite(value, "")
    return value


class _Value:
    """Formats as a pretty string without a spec and with the raw value's ``format`` with one."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec) if spec else _format_value(self.value)

    def __repr__(self) -> str:
        return repr(self.value)

    def __str__(self) -> str:
        return _format_value(self.value)


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e18:
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, _Literal):
        return str(value)
    return shlex.quote(str(value))


def format_command(template: str, inputs: dict[str, Any]) -> str:
    """Fill ``{name}`` placeholders of a shell command template from ``inputs``.

    Integral floats print as integers (``2e4`` -> ``20000``), other numbers with ``repr``,
    strings shell-quoted; format specs work (``{N:.3g}``). ``{result}`` is left for the executor.
    Use ``{{`` and ``}}`` for literal braces. Raises :class:`ExecutorError` naming an unknown
    placeholder or a malformed template.
    """

    class _Mapping(dict):
        def __missing__(self, key: str) -> Any:
            raise ExecutorError(
                f"command template placeholder {{{key}}} has no value; inputs are "
                f"{sorted(inputs)}, fix the template or the design pool"
            )

    mapping = _Mapping({str(k): _Value(v) for k, v in inputs.items()})
    mapping["result"] = _Value(_Literal("{result}"))
    try:
        return template.format_map(mapping)
    except (ValueError, IndexError, AttributeError) as err:
        raise ExecutorError(
            f"command template {template!r} is malformed ({err}); write literal braces as "
            "{{ and }}"
        ) from None


class _Literal(str):
    """A string inserted verbatim (not shell-quoted)."""


def _fill_result(command: str, result_path: Path) -> str:
    return command.replace("{result}", shlex.quote(str(result_path)))


def _tail(path: Path, chars: int = _TAIL_CHARS) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 4 * chars))
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    out = " | ".join(lines[-3:])
    return out if len(out) <= chars else "..." + out[-chars:]


def _log_tail(jobdir: Path) -> str:
    err = _tail(jobdir / "stderr.log")
    if err:
        return f"; stderr tail: {err}"
    out = _tail(jobdir / "stdout.log")
    return f"; stdout tail: {out}" if out else "; no output"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _proc_start_time(pid: int) -> str | None:
    """Start time of ``pid`` in clock ticks since boot (Linux), to detect pid reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[19]


def _pid_alive(pid: int, start_time: str | None) -> bool:
    """True if ``pid`` runs, is not a zombie and (on Linux) started at ``start_time``."""
    proc = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():
        try:
            stat = proc.read_text()
        except OSError:
            return False
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] in ("Z", "X"):
            return False
        return start_time is None or fields[19] == start_time
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fmt_seconds(seconds: float) -> str:
    return f"{seconds:g} s"


# --------------------------------------------------------------------------- local


# The first line is the launch claim: mkdir is atomic, so of two wrappers started for one job
# (a driver killed between starting the wrapper and seeing its pid, then restarted) only the
# first runs the command; the other exits without touching the job directory.
_WRAPPER = """\
mkdir "$SL_JOB_DIR/claim" 2>/dev/null || exit 0
echo $$ > "$SL_JOB_DIR/pid.tmp" && mv -f "$SL_JOB_DIR/pid.tmp" "$SL_JOB_DIR/pid"
/bin/sh "$SL_JOB_DIR/cmd.sh" > "$SL_JOB_DIR/stdout.log" 2> "$SL_JOB_DIR/stderr.log" < /dev/null
echo $? > "$SL_JOB_DIR/exitcode.tmp" && mv -f "$SL_JOB_DIR/exitcode.tmp" "$SL_JOB_DIR/exitcode"
"""


class LocalExecutor:
    """Run trial commands as detached local subprocesses, at most ``max_parallel`` at a time.

    ``workdir`` holds one directory per job (see the module docstring); use one per ledger.
    ``timeout`` (seconds, ``None`` = no limit) is enforced by :meth:`poll` and :meth:`slots`,
    measured from the launch time on disk, by killing the job's process group.
    """

    def __init__(
        self,
        max_parallel: int = 2,
        timeout: float | None = None,
        workdir: str | Path = "sl-runs",
        env: dict[str, str] | None = None,
    ) -> None:
        if int(max_parallel) < 1:
            raise ExecutorError(f"max_parallel is {max_parallel}; pass an integer >= 1")
        if timeout is not None and not (float(timeout) > 0):
            raise ExecutorError(f"timeout is {timeout}; pass a positive number of seconds or None")
        self.max_parallel = int(max_parallel)
        self.timeout = None if timeout is None else float(timeout)
        self.workdir = Path(workdir).absolute()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env = dict(env or {})
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._finished: dict[str, JobStatus] = {}

    def __repr__(self) -> str:
        return (
            f"LocalExecutor(max_parallel={self.max_parallel}, timeout={self.timeout}, "
            f"workdir={str(self.workdir)!r})"
        )

    # -- helpers
    def _jobdir(self, job_id: str) -> Path:
        if not job_id or "/" in job_id or job_id.startswith("."):
            raise ExecutorError(f"job id {job_id!r} is not a LocalExecutor job id like 'trial-7'")
        return self.workdir / job_id

    @staticmethod
    def job_id_for(trial_id: int) -> str:
        """The job id (directory name) a trial gets: ``trial-<id>``."""
        return f"trial-{int(trial_id)}"

    def log_path(self, job_id: str) -> str:
        """The job directory holding ``stdout.log`` and ``stderr.log``."""
        return str(self._jobdir(job_id))

    # -- interface
    def submit(self, trial_id: int, command: str, workdir: Path | None = None) -> str:
        """Launch ``command`` for ``trial_id`` (idempotent per trial id); return the job id."""
        job_id = self.job_id_for(trial_id)
        jobdir = self._jobdir(job_id)
        if any((jobdir / f).exists() for f in ("claim", "pid", "exitcode")):
            return job_id  # already launched (e.g. by a driver that crashed before recording it)
        free = self.slots()
        if free <= 0:
            raise ExecutorError(
                f"no free slot: {self.max_parallel} of {self.max_parallel} jobs running in "
                f"{self.workdir}; poll until slots() > 0 before submitting"
            )
        cwd = Path(workdir) if workdir is not None else Path.cwd()
        if not cwd.is_dir():
            raise ExecutorError(f"run directory {cwd} does not exist; create it or pass another")
        jobdir.mkdir(parents=True, exist_ok=True)
        for stale in ("killed", "result.json", "stdout.log", "stderr.log"):
            with contextlib.suppress(FileNotFoundError):
                (jobdir / stale).unlink()
        result_path = jobdir / "result.json"
        (jobdir / "cmd.sh").write_text(_fill_result(command, result_path) + "\n")
        (jobdir / "run.sh").write_text(_WRAPPER)
        _write_atomic(jobdir / "started", repr(time.time()))
        env = {**os.environ, **self.env}
        env.update(
            SL_JOB_DIR=str(jobdir),
            SL_RESULT=str(result_path),
            SL_TRIAL_ID=str(int(trial_id)),
            PYTHONUNBUFFERED="1",
        )
        proc = subprocess.Popen(
            ["/bin/sh", str(jobdir / "run.sh")],
            cwd=str(cwd),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if self._won_claim(jobdir, proc):
            self._procs[job_id] = proc
            start = _proc_start_time(proc.pid)
            if start is not None:
                _write_atomic(jobdir / "proc_start", start)
            _write_atomic(jobdir / "pid", str(proc.pid))
        else:  # a wrapper started by an earlier driver holds the claim: ours has exited
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        return job_id

    @staticmethod
    def _won_claim(jobdir: Path, proc: subprocess.Popen[bytes], wait: float = 30.0) -> bool:
        """Whether ``proc`` (a just-started wrapper) took the job's launch claim: it writes its
        own pid right after the claim, and a wrapper that loses exits at once."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            pid = _read_text(jobdir / "pid")
            if pid is not None and pid.strip():
                return int(pid) == proc.pid
            if proc.poll() is not None:  # exited before writing a pid: lost the claim
                return False
            time.sleep(0.002)
        return True  # still starting after ``wait`` seconds: ours is the only one running

    def poll(self, job_id: str) -> JobStatus:
        """State of a job launched by this or any earlier executor over the same ``workdir``."""
        if job_id in self._finished:
            return self._finished[job_id]
        jobdir = self._jobdir(job_id)
        log = str(jobdir)
        if not (jobdir / "started").exists():
            raise ExecutorError(
                f"job {job_id!r} was never launched in {self.workdir}; poll a job id returned by "
                "submit() with the same workdir"
            )
        proc = self._procs.get(job_id)
        if proc is not None:
            proc.poll()  # reap our own child so it does not linger as a zombie
        status = self._final_status(jobdir, log)
        if status is None:
            pid_text = _read_text(jobdir / "pid")
            alive = (proc is not None and proc.returncode is None) or (
                pid_text is not None
                and _pid_alive(int(pid_text), _read_text(jobdir / "proc_start"))
            )
            if not alive:
                status = self._final_status(jobdir, log)  # it may have finished meanwhile
                if status is None:
                    status = JobStatus(
                        "failed",
                        reason="process vanished without an exit code (killed externally or "
                        f"the machine rebooted){_log_tail(jobdir)}",
                        log_path=log,
                    )
            elif self.timeout is not None:
                started = float(_read_text(jobdir / "started") or time.time())
                if time.time() - started > self.timeout:
                    reason = f"timed out after {_fmt_seconds(self.timeout)}"
                    self._kill(job_id, jobdir, reason)
                    status = JobStatus("failed", reason=reason + _log_tail(jobdir), log_path=log)
        if status is None:
            return JobStatus("running", log_path=log)
        self._finished[job_id] = status
        proc = self._procs.pop(job_id, None)
        if proc is not None:
            # the wrapper writes its exit code just before it ends: reap it, so no handle to a
            # still-running child is dropped (a ResourceWarning, and a zombie until exit)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        return status

    def _final_status(self, jobdir: Path, log: str) -> JobStatus | None:
        killed = _read_text(jobdir / "killed")
        if killed is not None:
            return JobStatus("failed", reason=killed + _log_tail(jobdir), log_path=log)
        code_text = _read_text(jobdir / "exitcode")
        if code_text is None:
            return None
        try:
            code = int(code_text)
        except ValueError:
            code = -1
        if code != 0:
            return JobStatus("failed", reason=f"exit code {code}{_log_tail(jobdir)}", log_path=log)
        try:
            stdout = (jobdir / "stdout.log").read_text(errors="replace")
        except FileNotFoundError:
            stdout = ""
        try:
            result = parse_result(stdout, jobdir / "result.json")
        except ResultError as err:
            return JobStatus("failed", reason=str(err), log_path=log)
        return JobStatus("succeeded", result=result, log_path=log)

    def _kill(self, job_id: str, jobdir: Path, reason: str) -> None:
        _write_atomic(jobdir / "killed", reason)
        pid_text = _read_text(jobdir / "pid")
        if pid_text is not None and (
            job_id in self._procs or _pid_alive(int(pid_text), _read_text(jobdir / "proc_start"))
        ):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(pid_text), signal.SIGKILL)
        proc = self._procs.get(job_id)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)

    def cancel(self, job_id: str) -> None:
        """Kill the job's process group; it will poll as failed with reason ``cancelled``."""
        jobdir = self._jobdir(job_id)
        if self.poll(job_id).state != "running":
            return
        self._kill(job_id, jobdir, "cancelled")
        self._finished.pop(job_id, None)

    def running(self) -> list[str]:
        """Job ids in ``workdir`` still running (polling each, which enforces timeouts)."""
        out = []
        for path in sorted(self.workdir.glob("trial-*")):
            if path.name in self._finished or not (path / "started").exists():
                continue
            if self.poll(path.name).state == "running":
                out.append(path.name)
        return out

    def slots(self) -> int:
        """``max_parallel`` minus the jobs of ``workdir`` still running (any process's)."""
        return max(0, self.max_parallel - len(self.running()))


# --------------------------------------------------------------------------- submitit


def _run_shell_job(
    command: str, jobdir: str, cwd: str | None, timeout: float | None
) -> dict[str, Any]:
    """Body of a submitit job: run ``command`` in a shell, return its parsed JSON result.

    Writes ``stdout.log``, ``stderr.log``, ``exitcode`` and, on failure, a one-line ``reason``
    into ``jobdir``; raises :class:`ResultError` / :class:`ExecutorError` on failure.
    """
    job = Path(jobdir)
    job.mkdir(parents=True, exist_ok=True)
    result_path = job / "result.json"
    env = {**os.environ, "SL_JOB_DIR": str(job), "SL_RESULT": str(result_path)}
    env["PYTHONUNBUFFERED"] = "1"
    with open(job / "stdout.log", "wb") as out, open(job / "stderr.log", "wb") as err:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", _fill_result(command, result_path)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            reason = f"timed out after {_fmt_seconds(float(timeout or 0))}{_log_tail(job)}"
            _write_atomic(job / "reason", reason)
            raise ExecutorError(reason) from None
        except BaseException:  # e.g. submitit's signal on SLURM preemption / cancel
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise
    _write_atomic(job / "exitcode", str(code))
    if code != 0:
        reason = f"exit code {code}{_log_tail(job)}"
        _write_atomic(job / "reason", reason)
        raise ExecutorError(reason)
    try:
        return parse_result((job / "stdout.log").read_text(errors="replace"), result_path)
    except ResultError as err:
        _write_atomic(job / "reason", str(err))
        raise


_SUBMITIT_RUNNING = {
    "RUNNING",
    "PENDING",
    "REQUEUED",
    "CONFIGURING",
    "COMPLETING",
    "SUSPENDED",
    "RESIZING",
    "UNKNOWN",
    "READY",
}


class SubmititExecutor:
    """Run trial commands as :mod:`submitit` jobs (SLURM, or ``cluster="local"`` for testing).

    ``folder`` receives submitit's pickles and logs plus one ``trials/trial-<id>/`` directory
    per trial with the command's ``stdout.log``/``stderr.log``. ``timeout`` (seconds) is
    enforced inside the job and passed to the scheduler (rounded up to minutes, plus 2 minutes
    of grace); extra keyword arguments go to ``AutoExecutor.update_parameters`` (for example
    ``slurm_partition="gpu", gpus_per_node=1, cpus_per_task=8, mem_gb=32``).
    """

    def __init__(
        self,
        folder: str | Path,
        max_parallel: int = 8,
        timeout: float | None = None,
        cluster: str | None = None,
        **params: Any,
    ) -> None:
        try:
            import submitit
        except ImportError:
            raise ExecutorError(
                "SubmititExecutor needs the submitit package, which is not installed; "
                "pip install 'scalinglaws[slurm]'"
            ) from None
        if int(max_parallel) < 1:
            raise ExecutorError(f"max_parallel is {max_parallel}; pass an integer >= 1")
        self.max_parallel = int(max_parallel)
        self.timeout = None if timeout is None else float(timeout)
        self.folder = Path(folder).absolute()
        self._submitit = submitit
        self._ex = submitit.AutoExecutor(folder=self.folder, cluster=cluster)
        self.cluster = self._ex.cluster
        if self.timeout is not None:
            params.setdefault("timeout_min", int(math.ceil(self.timeout / 60.0)) + 2)
        elif self.cluster in ("local", "debug"):
            params.setdefault("timeout_min", 7 * 24 * 60)  # submitit's local default is 2 min
        params.setdefault("name", "sl-trial")
        self._ex.update_parameters(**params)
        self._jobs: dict[str, Any] = {}
        self._finished: dict[str, JobStatus] = {}

    def __repr__(self) -> str:
        return (
            f"SubmititExecutor(folder={str(self.folder)!r}, cluster={self.cluster!r}, "
            f"max_parallel={self.max_parallel}, timeout={self.timeout})"
        )

    def _trialdir(self, trial_id: int) -> Path:
        return self.folder / "trials" / f"trial-{int(trial_id)}"

    def submit(self, trial_id: int, command: str, workdir: Path | None = None) -> str:
        """Submit ``command`` for ``trial_id`` (idempotent per trial id); return the job id."""
        trialdir = self._trialdir(trial_id)
        known = _read_text(trialdir / "job_id")
        if known:
            return known
        if self.slots() <= 0:
            raise ExecutorError(
                f"no free slot: {self.max_parallel} of {self.max_parallel} jobs running under "
                f"{self.folder}; poll until slots() > 0 before submitting"
            )
        trialdir.mkdir(parents=True, exist_ok=True)
        cwd = str(Path(workdir).absolute()) if workdir is not None else os.getcwd()
        job = self._ex.submit(_run_shell_job, command, str(trialdir), cwd, self.timeout)
        job_id = str(job.job_id)
        _write_atomic(trialdir / "job_id", job_id)
        _write_atomic(self.folder / "trials" / f"job-{job_id}", str(trialdir))
        self._jobs[job_id] = job
        return job_id

    def _job(self, job_id: str) -> Any:
        job = self._jobs.get(job_id)
        if job is None:
            # re-attach to a job launched by another process
            inner = self._ex._executor
            job = inner.job_class(folder=inner.folder, job_id=job_id)
            self._jobs[job_id] = job
        return job

    def _trialdir_of(self, job_id: str) -> Path | None:
        text = _read_text(self.folder / "trials" / f"job-{job_id}")
        return Path(text) if text else None

    def poll(self, job_id: str) -> JobStatus:
        """State of a submitit job, re-attaching to jobs launched by another process."""
        job_id = str(job_id)
        if job_id in self._finished:
            return self._finished[job_id]
        job = self._job(job_id)
        trialdir = self._trialdir_of(job_id)
        log = str(trialdir) if trialdir else str(job.paths.stdout)
        status: JobStatus | None = None
        if trialdir is not None and (trialdir / "killed").exists():
            status = JobStatus("failed", reason=_read_text(trialdir / "killed") or "cancelled")
        elif job.paths.result_pickle.exists():
            outcome, payload = self._submitit.core.utils.pickle_load(job.paths.result_pickle)
            if outcome == "success":
                status = JobStatus("succeeded", result=payload, log_path=log)
            else:
                reason = _read_text(trialdir / "reason") if trialdir else None
                if not reason:
                    lines = [s for s in str(payload).splitlines() if s.strip()]
                    reason = lines[-1].strip() if lines else "the job raised an exception"
                status = JobStatus("failed", reason=reason, log_path=log, result=None)
        else:
            state = self._state(job, job_id)
            if state not in _SUBMITIT_RUNNING:
                detail = "timed out" if state == "TIMEOUT" else f"ended in state {state}"
                status = JobStatus(
                    "failed",
                    reason=f"submitit job {job_id} {detail} without a result; see "
                    f"{job.paths.stderr}",
                    log_path=log,
                )
        if status is None:
            return JobStatus("running", log_path=log)
        self._finished[job_id] = status
        proc = getattr(job, "_process", None)  # a local controller: reap it once it exits
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
        return status

    def _state(self, job: Any, job_id: str) -> str:
        state = str(job.state).upper()
        if state == "NO PROCESS AND NO RESULT":  # a local job re-attached from a new process
            if job_id.isdigit() and _pid_alive(int(job_id), None):
                return "RUNNING"
            return "VANISHED"
        if state == "FINISHED":  # local: process ended; give the result pickle a moment
            for _ in range(20):
                if job.paths.result_pickle.exists():
                    return "RUNNING"  # next poll reads it
                time.sleep(0.1)
            return "FINISHED"
        return state

    def cancel(self, job_id: str) -> None:
        """Cancel the job; it will poll as failed with reason ``cancelled``."""
        job_id = str(job_id)
        if self.poll(job_id).state != "running":
            return
        trialdir = self._trialdir_of(job_id)
        if trialdir is not None:
            _write_atomic(trialdir / "killed", "cancelled")
        job = self._job(job_id)
        if getattr(job, "_process", "n/a") is None and job_id.isdigit():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(job_id), signal.SIGINT)  # re-attached local job
        else:
            job.cancel(check=False)
        self._finished.pop(job_id, None)

    def slots(self) -> int:
        """``max_parallel`` minus the jobs this executor knows to be running."""
        running = sum(
            1
            for job_id in list(self._jobs)
            if job_id not in self._finished and self.poll(job_id).state == "running"
        )
        return max(0, self.max_parallel - running)
