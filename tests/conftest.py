"""Fixtures: the binaries, a session-wide shared cluster, and fresh clusters for destructive tests.

Every cluster is stopped at teardown (SIGTERM, then SIGKILL) whatever the test's outcome; a
failed test gets the tails of its cluster's logs in its report. The stored data of passing
tests is removed (logs and configs are kept) so repeated runs do not fill /tmp.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checks import FIGURES  # noqa: E402
from harness import SHARED_CHUNK_SIZE, Cluster, default_bin_dir, missing_binaries  # noqa: E402

_ALL_CLUSTERS: list[Cluster] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


def _failed(node) -> bool:
    return any(getattr(node, f"rep_{w}", None) is not None and getattr(node, f"rep_{w}").failed for w in ("setup", "call"))


@pytest.fixture(scope="session")
def bin_dir() -> Path:
    d = default_bin_dir()
    missing = missing_binaries(d)
    if missing:
        pytest.fail(
            f"Trireme binaries missing in {d}: {', '.join(missing)}. Build them with "
            "`cargo build --workspace --bins` or point TRIREME_BIN_DIR at a directory holding them.",
            pytrace=False,
        )
    return d


@pytest.fixture(scope="session", autouse=True)
def _stop_every_cluster_at_exit():
    yield
    for c in _ALL_CLUSTERS:
        c.stop()


def _start(bin_dir: Path, base: Path, **kw) -> Cluster:
    c = Cluster(bin_dir, base, **kw)
    _ALL_CLUSTERS.append(c)
    return c.start()


@pytest.fixture(scope="session")
def shared_cluster(bin_dir, tmp_path_factory, request) -> Cluster:
    """One cluster (1 MiB chunks) for the tests that do not break anything."""
    c = _start(bin_dir, tmp_path_factory.mktemp("shared"), chunk_size=SHARED_CHUNK_SIZE)
    yield c
    c.stop()
    if request.session.testsfailed == 0:
        c.remove_data()


@pytest.fixture(scope="session")
def s3(shared_cluster):
    return shared_cluster.s3()


@pytest.fixture
def fresh_cluster(bin_dir, tmp_path_factory, request) -> Callable[..., Cluster]:
    """Factory for clusters owned by one test: `fresh_cluster(chunk_size=..., ...)`."""
    mine: list[Cluster] = []

    def make(**kw) -> Cluster:
        name = request.node.name.replace("[", "-").replace("]", "")[:40]
        c = _start(bin_dir, tmp_path_factory.mktemp(name), **kw)
        mine.append(c)
        return c

    yield make
    failed = _failed(request.node)
    for c in mine:
        if failed:
            print(c.log_report(40))
        c.stop()
        if not failed:
            c.remove_data()


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("measured figures")
    for test, name, value in FIGURES:
        terminalreporter.write_line(f"{test}: {name} = {value}")


_MODULE_ORDER = [
    # the shared cluster first (cheap, read-mostly) ...
    "test_s3_roundtrip.py",
    "test_s3_errors.py",
    "test_list.py",
    "test_awscli.py",
    "test_placement.py",
    "test_cli.py",
    "test_admin_auth.py",
    # ... then the destructive tests, each on its own cluster.
    "test_chunkserver_kill.py",
    "test_corruption.py",
    "test_meta_failover.py",
    "test_restart.py",
]


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        name = item.path.name
        return _MODULE_ORDER.index(name) if name in _MODULE_ORDER else len(_MODULE_ORDER)

    items.sort(key=rank)  # stable: keeps the order inside each module


@pytest.fixture
def mounts(tmp_path_factory):
    """Filesystems (loop-mounted XFS images, tmpfs) made by a test; unmounted and detached
    after the cluster stopped (tests request it before `fresh_cluster`, so it is torn down
    after it). Skipped without root or the mount tools."""
    import os

    from durautil import Mounts, mount_tools_missing

    if os.geteuid() != 0:
        pytest.skip("mounting filesystems needs root (CI runs these tests as root)")
    missing = mount_tools_missing()
    if missing:
        pytest.skip(f"missing {', '.join(missing)} (install xfsprogs and util-linux)")
    m = Mounts(tmp_path_factory.mktemp("images"))
    try:
        yield m
    finally:
        problems = m.cleanup()
        assert not problems, f"cleanup of mounts: {problems}"
