"""Process plumbing for the cluster tests: deadline-bounded polling, pid checks, signals,
log tails, and the result of running a command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

BINARIES = ("trireme", "trireme-meta", "trireme-chunkserver", "trireme-gateway")


class HarnessError(AssertionError):
    """A cluster did not do what the harness waited for (reported as a test failure)."""


class StopWaiting(HarnessError):
    """Raised by a polled condition when waiting longer cannot help (the process it waits
    for has exited, say): `wait_until` passes it on at once instead of polling on."""


def default_bin_dir() -> Path:
    env = os.environ.get("TRIREME_BIN_DIR")
    if env:
        return Path(env).resolve()
    return (Path(__file__).resolve().parent.parent / "target" / "debug").resolve()


def missing_binaries(bin_dir: Path) -> list[str]:
    return [b for b in BINARIES if not os.access(bin_dir / b, os.X_OK)]


def wait_until(cond: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Polls `cond` until it returns a truthy value (returned) or `timeout` seconds pass.

    Exceptions raised by `cond` count as "not yet"; the last one is in the timeout message.
    A `StopWaiting` raised by `cond` ends the wait at once and is passed on.
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = cond()
            if value:
                return value
        except StopWaiting:
            raise
        except Exception as e:  # noqa: BLE001 - polled condition, reported on timeout
            last_exc = e
        if time.monotonic() >= deadline:
            msg = f"timed out after {timeout:.0f}s waiting for {what}"
            if last_exc is not None:
                msg += f"; last error: {type(last_exc).__name__}: {last_exc}"
            raise HarnessError(msg)
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    # state is the field after the parenthesised command name
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def is_trireme(pid: int) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"trireme" in cmd


def send_signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def die_with_parent() -> None:
    """preexec_fn: SIGTERM this child when the test process dies, even by SIGKILL, so a killed
    test run leaves no cluster behind (`trireme up` passes the same on to its children)."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def check_running(proc: subprocess.Popen, what: str, log: Path, lines: int = 30) -> None:
    """Raises `StopWaiting` with `proc`'s exit code and the tail of its output `log` if it
    has exited; for polled start-up conditions, so a process that died fails the wait at
    once rather than after its whole timeout."""
    rc = proc.poll()
    if rc is not None:
        raise StopWaiting(f"{what} exited with code {rc} during start-up; last lines of {log}:\n{tail(log, lines)}")


def tail(path: Path, lines: int = 40) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return "\n".join(data.splitlines()[-lines:])


@dataclass
class CliResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def check(self) -> "CliResult":
        if self.returncode != 0:
            raise HarnessError(
                f"`{' '.join(self.args)}` exited {self.returncode}\n"
                f"stdout:\n{self.stdout[-4000:]}\nstderr:\n{self.stderr[-4000:]}"
            )
        return self

    def json(self) -> Any:
        self.check()
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as e:
            raise HarnessError(f"`{' '.join(self.args)}` printed no JSON ({e}):\n{self.stdout[-4000:]}") from e
