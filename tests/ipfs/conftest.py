"""The real IPFS node these suites run against: one js-ipfs daemon per session (it takes a few
seconds to start), offline, on free 127.0.0.1 ports, in a temporary repository."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support_ipfs import IpfsDaemon


@pytest.fixture(scope="session")
def ipfs_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IpfsDaemon]:
    """The session's daemon, running. Tests that stop it use :func:`restartable_node`."""
    daemon = IpfsDaemon(tmp_path_factory.mktemp("ipfs") / "repo")
    daemon.init()
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture
def restartable_node(ipfs_node: IpfsDaemon) -> Iterator[IpfsDaemon]:
    """The session's daemon for a test that stops and restarts it: running again afterwards,
    whatever the test did, so the tests after it find it up."""
    yield ipfs_node
    ipfs_node.start()
