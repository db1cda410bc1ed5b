"""Start, drive, fault and stop a real local Trireme cluster (`trireme up`) from Python.

Everything here waits on conditions with deadlines (`wait_until`); nothing sleeps to
synchronise. Every process the harness starts, directly or through `trireme up`, is tracked
and killed by `Cluster.stop()`, which the fixtures call even when a test fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procs import (  # noqa: F401 - re-exported for the tests
    BINARIES,
    CliResult,
    HarnessError,
    StopWaiting,
    check_running,
    default_bin_dir,
    die_with_parent,
    is_trireme,
    missing_binaries,
    pid_alive,
    send_signal,
    tail,
    wait_until,
)

START_TIMEOUT = 90.0  # `trireme up` until cluster.json + a serving cluster, on 2 busy cores
STOP_TIMEOUT = 20.0  # SIGTERM until SIGKILL
PROCESS_READY_TIMEOUT = 60.0  # one restarted process until its ready file
CLI_TIMEOUT = 60.0
SHARED_CHUNK_SIZE = 1024 * 1024  # chunk size of the session-wide shared cluster


@dataclass
class Proc:
    role: str
    id: int
    addr: str
    pid: int
    config: Path
    disks: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.role}-{self.id}"


class Cluster:
    """One local cluster run by `trireme up` in `base/data`, with logs in `base/logs`."""

    def __init__(
        self,
        bin_dir: Path,
        base: Path,
        *,
        chunk_size: int | None = None,
        chunkserver_timeout_ms: int | None = None,
        heartbeat_ms: int | None = None,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.bin_dir = Path(bin_dir)
        self.base = Path(base)
        self.data_dir = self.base / "data"
        self.log_dir = self.base / "logs"
        self.chunk_size = chunk_size
        self.up_args: list[str] = []
        if chunk_size is not None:
            self.up_args += ["--chunk-size", str(chunk_size)]
        if chunkserver_timeout_ms is not None:
            self.up_args += ["--chunkserver-timeout-ms", str(chunkserver_timeout_ms)]
        if heartbeat_ms is not None:
            self.up_args += ["--heartbeat-ms", str(heartbeat_ms)]
        self.up_args += extra_args or []
        # Extra environment of `trireme up`, which its servers inherit (and of the processes
        # restarted by hand), e.g. TRIREME_FAULT_INJECTION=1 for the chunkservers.
        self.env = dict(env or {})
        self.up: subprocess.Popen | None = None
        self.info: dict[str, Any] = {}
        self._spawned: list[subprocess.Popen] = []  # processes restarted by hand
        self._known_pids: set[int] = set()  # every server pid ever seen in cluster.json
        self._starts = 0
        self._restarts = 0
        # How the last stop() went: `trireme up`'s exit code, and whether everything exited
        # on SIGTERM within STOP_TIMEOUT (clean) rather than needing SIGKILL.
        self.last_stop: dict[str, Any] = {}

    # ------------------------------------------------------------------ lifecycle

    @property
    def cluster_file(self) -> Path:
        return self.data_dir / "cluster.json"

    def start(self, timeout: float = START_TIMEOUT) -> "Cluster":
        """Runs `trireme up` and waits until the cluster serves S3 and every chunkserver is alive."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        old = self._read_cluster_file()
        old_pids = {p["pid"] for p in old.get("processes", [])} if old else set()
        self._starts += 1
        log_path = self.log_dir / f"up-{self._starts}.log"
        args = [str(self.bin_dir / "trireme"), "up", "--data-dir", str(self.data_dir), "--s3-addr", "127.0.0.1:0"]
        args += self.up_args
        t0 = time.monotonic()
        with open(log_path, "wb") as log:
            self.up = subprocess.Popen(
                args,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        try:

            def cluster_file_ready() -> dict | None:
                self._check_up(log_path)
                info = self._read_cluster_file()
                if not info or not info.get("processes"):
                    return None
                pids = {p["pid"] for p in info["processes"]}
                if pids & old_pids:
                    return None  # still the previous run's file
                if not all(pid_alive(p) for p in pids):
                    return None
                return info

            try:
                self.info = wait_until(cluster_file_ready, timeout, f"{self.cluster_file} from `trireme up`", 0.1)
            except HarnessError as e:
                raise type(e)(f"{e}\n`{' '.join(args)}`\n{self.log_report()}") from None
            self._known_pids |= {p.pid for p in self.processes()}
            remaining = max(10.0, timeout - (time.monotonic() - t0))
            try:
                self.wait_serving(remaining, log_path)
            except HarnessError as e:
                raise type(e)(f"{e}\n{self.log_report()}") from None
        except BaseException:
            self.stop()
            raise
        print(f"[harness] cluster in {self.data_dir} ready in {time.monotonic() - t0:.1f}s at {self.endpoint}")
        return self

    def wait_serving(self, timeout: float, up_log: Path | None = None) -> None:
        """Waits until a meta leader lists every chunkserver alive with its disks, and S3
        answers. With `up_log`, `trireme up` exiting meanwhile fails the wait at once."""
        n_cs = len([p for p in self.processes() if p.role == "chunkserver"])

        def all_chunkservers_alive() -> bool:
            self._check_up(up_log)
            resp = self.meta_call("/v1/meta/list_chunkservers", {})
            alive = [c for c in resp.get("chunkservers", []) if c.get("alive") and c.get("disks")]
            return len(alive) >= n_cs

        def s3_answers() -> bool:
            self._check_up(up_log)
            return s3.list_buckets() is not None

        wait_until(all_chunkservers_alive, timeout, f"{n_cs} chunkservers alive with disks at the meta leader", 0.2)
        s3 = self.s3(max_attempts=1, read_timeout=10)
        wait_until(s3_answers, timeout, "S3 ListBuckets to answer", 0.2)

    def _check_up(self, up_log: Path | None) -> None:
        """Raises `StopWaiting` (exit code, tail of `up_log`) if `trireme up` has exited."""
        if up_log is not None and self.up is not None:
            check_running(self.up, "`trireme up`", up_log)

    def _env(self) -> dict[str, str] | None:
        return {**os.environ, **self.env} if self.env else None

    def stop(self) -> None:
        """SIGTERMs everything, then SIGKILLs whatever is still alive after STOP_TIMEOUT."""
        self._refresh_known_pids()
        up = self.up
        if up is not None and up.poll() is None:
            try:
                os.killpg(up.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in self._spawned:
            if p.poll() is None:
                send_signal(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        clean = False
        while time.monotonic() < deadline:
            if self._all_down():
                clean = True
                break
            time.sleep(0.05)
        self.last_stop = {"up_exit": None if up is None else up.poll(), "clean": clean}
        if up is not None:
            try:
                os.killpg(up.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self._spawned:
            if p.poll() is None:
                send_signal(p.pid, signal.SIGKILL)
        for pid in self._known_pids:
            if pid_alive(pid) and is_trireme(pid):
                send_signal(pid, signal.SIGKILL)
        for p in ([up] if up is not None else []) + self._spawned:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        wait_until(self._all_down, 10, "every cluster process to exit after SIGKILL", 0.05)
        self.up = None
        self._spawned = []

    def restart_all(self, timeout: float = START_TIMEOUT) -> "Cluster":
        """Stops the whole cluster and runs `trireme up` again on the same data directory."""
        self.stop()
        return self.start(timeout)

    def remove_data(self) -> None:
        """Deletes the stored data (disks, meta databases) of a stopped cluster, keeping its
        configs and logs for reading later."""
        import shutil

        if not self.data_dir.is_dir():
            return
        for proc_dir in self.data_dir.iterdir():
            if proc_dir.is_dir():
                for entry in proc_dir.iterdir():
                    try:
                        is_dir = entry.is_dir() and not entry.is_symlink()
                    except OSError:
                        continue  # e.g. a shut-down filesystem mounted there (EIO)
                    if is_dir:
                        shutil.rmtree(entry, ignore_errors=True)

    def _all_down(self) -> bool:
        if self.up is not None and self.up.poll() is None:
            return False
        if any(p.poll() is None for p in self._spawned):
            return False
        return not any(pid_alive(pid) and is_trireme(pid) for pid in self._known_pids)

    def _refresh_known_pids(self) -> None:
        info = self._read_cluster_file()
        if info:
            self._known_pids |= {p["pid"] for p in info.get("processes", [])}

    def _read_cluster_file(self) -> dict | None:
        try:
            return json.loads(self.cluster_file.read_text())
        except (OSError, json.JSONDecodeError):
            return None

    # ------------------------------------------------------------------ what is running

    @property
    def endpoint(self) -> str:
        return self.info["endpoint"]

    @property
    def region(self) -> str:
        return self.info["region"]

    @property
    def access_key(self) -> str:
        return self.info["access_key"]

    @property
    def secret_key(self) -> str:
        return self.info["secret_key"]

    def processes(self, role: str | None = None) -> list[Proc]:
        """The processes of cluster.json, with pids updated for the ones restarted by hand."""
        out = []
        for p in self.info.get("processes", []):
            proc = Proc(
                role=p["role"],
                id=int(p["id"]),
                addr=p["addr"],
                pid=int(p["pid"]),
                config=Path(p["config"]),
                disks=[Path(d) for d in p.get("disks", [])],
            )
            if role is None or proc.role == role:
                out.append(proc)
        return out

    def proc(self, role: str, id: int) -> Proc:
        for p in self.processes(role):
            if p.id == id:
                return p
        raise HarnessError(f"no {role} with id {id} in {self.cluster_file}")

    def _set_pid(self, role: str, id: int, pid: int) -> None:
        for p in self.info.get("processes", []):
            if p["role"] == role and int(p["id"]) == id:
                p["pid"] = pid
        self._known_pids.add(pid)

    def meta_addrs(self, alive_only: bool = True) -> list[str]:
        return [p.addr for p in self.processes("meta") if not alive_only or pid_alive(p.pid)]

    # ------------------------------------------------------------------ faults

    def kill(self, role: str, id: int, sig: int = signal.SIGKILL, timeout: float = 15.0) -> Proc:
        """Sends `sig` to one process; for SIGKILL/SIGTERM waits until it is gone."""
        p = self.proc(role, id)
        if not pid_alive(p.pid):
            raise HarnessError(f"{p.name} (pid {p.pid}) is not running")
        os.kill(p.pid, sig)
        if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
            wait_until(lambda: not pid_alive(p.pid), timeout, f"{p.name} (pid {p.pid}) to exit after signal {sig}", 0.02)
            for sp in self._spawned:
                if sp.pid == p.pid:
                    sp.wait(timeout=5)
        print(f"[harness] sent signal {int(sig)} to {p.name} pid {p.pid}")
        return p

    def restart(self, role: str, id: int, timeout: float = PROCESS_READY_TIMEOUT) -> Proc:
        """Starts one (stopped) process again from its config and waits for its new ready file."""
        p = self.proc(role, id)
        if pid_alive(p.pid):
            raise HarnessError(f"{p.name} (pid {p.pid}) is still running; kill it first")
        ready = self._ready_file(p.config)
        ready.unlink(missing_ok=True)
        self._restarts += 1
        log_path = self.log_dir / f"{p.name}-restart-{self._restarts}.log"
        args = [str(self.bin_dir / f"trireme-{role}"), "--config", str(p.config)]
        with open(log_path, "wb") as log:
            sp = subprocess.Popen(
                args,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        self._spawned.append(sp)
        self._known_pids.add(sp.pid)

        def is_ready() -> dict | None:
            check_running(sp, p.name, log_path)
            try:
                r = json.loads(ready.read_text())
            except (OSError, json.JSONDecodeError):
                return None
            return r if int(r.get("pid", -1)) == sp.pid else None

        try:
            r = wait_until(is_ready, timeout, f"{p.name} to write {ready}", 0.05)
        except StopWaiting as e:
            raise StopWaiting(f"{e}\n`{' '.join(args)}`") from None
        except HarnessError as e:
            raise HarnessError(f"{e}\n`{' '.join(args)}`\n{tail(log_path)}") from None
        self._set_pid(role, id, sp.pid)
        if r.get("addr") != p.addr:
            print(f"[harness] note: {p.name} came back on {r.get('addr')} (was {p.addr})")
        print(f"[harness] restarted {p.name} as pid {sp.pid}")
        return self.proc(role, id)

    @staticmethod
    def _ready_file(config: Path) -> Path:
        try:
            cfg = tomllib.loads(config.read_text())
            if cfg.get("ready_file"):
                return Path(cfg["ready_file"])
        except (OSError, tomllib.TOMLDecodeError):
            pass
        return config.parent / "ready.json"

    # ------------------------------------------------------------------ clients

    def s3(self, *, access_key: str | None = None, secret_key: str | None = None, **kw: Any):
        from s3util import make_s3_client

        return make_s3_client(
            self.endpoint, self.region, access_key or self.access_key, secret_key or self.secret_key, **kw
        )

    def aws_env(self) -> dict[str, str]:
        cfg = self.base / "aws-config"
        if not cfg.exists():
            cfg.write_text(
                "[default]\n"
                f"region = {self.region}\n"
                "s3 =\n    addressing_style = path\n"
                "retry_mode = standard\nmax_attempts = 10\n"
            )
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=self.access_key,
            AWS_SECRET_ACCESS_KEY=self.secret_key,
            AWS_DEFAULT_REGION=self.region,
            AWS_CONFIG_FILE=str(cfg),
            AWS_SHARED_CREDENTIALS_FILE=str(self.base / "aws-credentials-none"),
            AWS_EC2_METADATA_DISABLED="true",
            AWS_PAGER="",
        )
        return env

    def aws(self, *args: str, check: bool = True, timeout: float = 300) -> CliResult:
        """Runs aws-cli against the cluster's endpoint."""
        argv = ["aws", "--endpoint-url", self.endpoint, *args]
        r = subprocess.run(argv, env=self.aws_env(), capture_output=True, text=True, timeout=timeout)
        res = CliResult(argv, r.returncode, r.stdout, r.stderr)
        return res.check() if check else res

    def cli(self, *args: str, check: bool = False, timeout: float = CLI_TIMEOUT, data_dir: Path | None = None) -> CliResult:
        """Runs `trireme --data-dir DIR ARGS...`."""
        argv = [str(self.bin_dir / "trireme"), "--data-dir", str(data_dir or self.data_dir), *args]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        res = CliResult(argv, r.returncode, r.stdout, r.stderr)
        return res.check() if check else res

    # ------------------------------------------------------------------ internal RPC (contract in api/)

    def rpc(self, addr: str, path: str, body: dict | None = None, timeout: float = 5.0) -> tuple[int, Any]:
        """One internal RPC to one address: (http status, decoded JSON body)."""
        req = urllib.request.Request(
            f"http://{addr}{path}",
            data=json.dumps(body or {}).encode(),
            method="POST",
            headers={
                "content-type": "application/json",
                "x-trireme-secret": self.info["secret"],
                "x-trireme-cluster": self.info["cluster_id"],
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except json.JSONDecodeError:
                return e.code, {"code": "?", "message": raw[:300].decode("utf-8", "replace")}

    def meta_call(self, path: str, body: dict | None = None) -> Any:
        """A leader-only meta RPC: tries the live meta nodes, following NotLeader hints."""
        errors = []
        addrs = self.meta_addrs()
        tried: set[str] = set()
        while addrs:
            addr = addrs.pop(0)
            if addr in tried:
                continue
            tried.add(addr)
            try:
                status, resp = self.rpc(addr, path, body)
            except OSError as e:
                errors.append(f"{addr}: {e}")
                continue
            if status == 200:
                return resp
            errors.append(f"{addr}: {status} {resp}")
            if isinstance(resp, dict) and resp.get("leader"):
                addrs.insert(0, resp["leader"])
        raise HarnessError(f"{path} failed on every meta node: {errors}")

    def meta_status(self, addr: str) -> dict:
        status, resp = self.rpc(addr, "/v1/meta/status", {})
        if status != 200:
            raise HarnessError(f"status of {addr}: {status} {resp}")
        return resp

    def leader_id(self) -> int:
        """The Raft leader that the live meta nodes agree on, which also says it is the leader."""
        views = {}
        for p in self.processes("meta"):
            if pid_alive(p.pid):
                try:
                    views[p.id] = self.meta_status(p.addr)
                except (OSError, HarnessError):
                    pass
        leaders = {v.get("leader") for v in views.values()}
        if len(views) < 2 or len(leaders) != 1 or None in leaders:
            seen = {k: v.get("leader") for k, v in views.items()}
            raise HarnessError(f"no agreed leader among live meta nodes (node -> leader it sees): {seen}")
        leader = leaders.pop()
        if leader not in views:
            raise HarnessError(f"nodes agree on leader {leader}, which is not a live node")
        return int(leader)

    def wait_leader(self, timeout: float = 30.0, not_: int | None = None) -> int:
        def ok() -> int | None:
            lid = self.leader_id()
            return lid if lid != not_ else None

        what = "an agreed meta leader" + (f" other than {not_}" if not_ is not None else "")
        return wait_until(ok, timeout, what, 0.05)

    # ------------------------------------------------------------------ diagnostics

    def log_files(self) -> list[Path]:
        found: list[Path] = []
        for pattern in ("*/log", "*/*.log", "*/log/*", "*/logs/*", "*.log"):
            found += [p for p in self.data_dir.glob(pattern) if p.is_file()]
        found += sorted(self.log_dir.glob("*.log"))
        seen, out = set(), []
        for p in found:
            if p not in seen:
                seen.add(p)
                out.append(p)
        return out

    def log_report(self, lines: int = 30) -> str:
        parts = [f"--- logs of the cluster in {self.data_dir} ---"]
        for p in self.log_files():
            parts.append(f"=== {p} (last {lines} lines)\n{tail(p, lines)}")
        if len(parts) == 1:
            parts.append("(no log files found)")
        return "\n".join(parts)
