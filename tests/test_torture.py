"""`trireme torture` (issue 7): the short fault-torture run finds no anomaly, and the checker
path is live (a tampered read makes the run, and `torture check` of its history, exit 1).

The torture driver starts its own cluster in network namespaces on loop-mounted disks, so
these tests need root, `ip netns`, `nft`, `tc` and the XFS and ext4 tools; they are skipped
cleanly otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from checks import figure

SHORT_TIMEOUT = 1500


def _netns_usable() -> str | None:
    """Why namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root"
    for prog in ("ip", "nft", "tc", "losetup", "mkfs.xfs", "mkfs.ext4", "xfs_io", "e2fsck"):
        if shutil.which(prog) is None:
            return f"`{prog}` is not installed"
    name = f"trtprobe-{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode != 0:
        return f"`ip netns add` fails: {r.stderr.strip()}"
    try:
        r = subprocess.run(["ip", "netns", "exec", name, "nft", "list", "ruleset"], capture_output=True, text=True)
        if r.returncode != 0:
            return f"nft does not work in a namespace: {r.stderr.strip()}"
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


_UNUSABLE = _netns_usable()
pytestmark = pytest.mark.skipif(_UNUSABLE is not None, reason=f"torture: {_UNUSABLE}")


def torture(bin_dir: Path, *args: str, timeout: float = SHORT_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(bin_dir / "trireme"), "torture", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TRIREME_BIN_DIR": str(bin_dir)},
    )


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def histories(out: Path, name: str = "history.jsonl") -> list[Path]:
    return sorted(out.glob(f"*/{name}"))


def short_scenarios(bin_dir: Path) -> list[str]:
    """What `--short` runs, as `--list` marks it."""
    listing = torture(bin_dir, "--list", timeout=60).stdout
    return [line.split()[0] for line in listing.splitlines() if line.rstrip().endswith("(--short)")]


def test_short_run_has_no_anomaly(bin_dir, tmp_path):
    short = short_scenarios(bin_dir)
    assert len(short) >= 10 and "disk-death" in short and "meta-membership" in short, short
    out = tmp_path / "out"
    r = torture(bin_dir, "--short", "--out", str(out))
    report = f"exit {r.returncode}\nstdout:\n{r.stdout[-6000:]}\nstderr:\n{r.stderr[-6000:]}"
    assert r.returncode == 0, report
    summary = last_line(r.stdout)
    # The per-scenario table (the lines after its SCENARIO header) and the summary line.
    lines = r.stdout.splitlines()
    header = next((i for i, line in enumerate(lines) if line.startswith("SCENARIO ")), None)
    if header is not None:
        figure("torture --short", "columns", " ".join(lines[header].split()[1:]))
        for line in lines[header + 1 :]:
            if not line.strip():
                break
            figure("torture --short", line.split()[0], " ".join(line.split()[1:]))
    figure("torture --short", "summary", summary)
    assert summary.startswith(f"torture: {len(short)} scenarios,"), report
    assert " 0 anomalies" in summary, report
    for name in short:
        assert name in r.stdout, report
    # Every scenario saved its history; a saved history re-checks clean.
    saved = histories(out)
    assert len(saved) == len(short), saved
    c = torture(bin_dir, "check", str(saved[0]), timeout=300)
    assert c.returncode == 0, c.stdout + c.stderr
    assert " 0 anomalies" in last_line(c.stdout)
    # Nothing is left behind: no namespace of ours, no process, no cluster data.
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "trt-" not in ns, ns
    assert not (out / "cluster").exists()
    # ... and no loop device or mount of its disks.
    loops = subprocess.run(["losetup", "-l", "-n", "-O", "BACK-FILE"], capture_output=True, text=True).stdout
    assert str(out) not in loops, loops
    with open("/proc/self/mountinfo") as f:
        mounts = f.read()
    assert str(out) not in mounts, mounts


def test_a_tampered_read_is_caught(bin_dir, tmp_path):
    out = tmp_path / "out"
    r = torture(bin_dir, "--scenario", "kill-random", "--duration", "2s", "--inject-anomaly", "--out", str(out))
    report = f"exit {r.returncode}\nstdout:\n{r.stdout[-6000:]}\nstderr:\n{r.stderr[-6000:]}"
    assert r.returncode == 1, report
    summary = last_line(r.stdout)
    assert summary.startswith("torture: 1 scenario,"), report
    assert " 0 anomalies" not in summary, report
    assert "phantom" in r.stdout or "integrity" in r.stdout, report
    tampered = histories(out, "history-tampered.jsonl")
    assert len(tampered) == 1, tampered
    c = torture(bin_dir, "check", str(tampered[0]), timeout=300)
    assert c.returncode == 1, c.stdout + c.stderr
    # The untampered history of the same run is clean.
    clean = torture(bin_dir, "check", str(histories(out)[0]), timeout=300)
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_usage_errors(bin_dir):
    r = torture(bin_dir, "--scenario", "no-such-fault", timeout=60)
    assert r.returncode == 2
    assert "kill-leader" in r.stderr
    listing = torture(bin_dir, "--list", timeout=60)
    assert listing.returncode == 0
    assert "partition-leader" in listing.stdout and "(--short)" in listing.stdout
