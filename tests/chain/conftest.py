"""Shared by the chain adapter's tests: a fresh registry on the session's anvil node."""

from __future__ import annotations

import pytest
from eth_account import Account

from notary.chain.registry import Registry, connect


@pytest.fixture
def registry(anvil) -> Registry:
    w3 = connect(anvil.url)
    account = Account.create()
    w3.provider.make_request("anvil_setBalance", [account.address, hex(10**20)])
    reg, _deployment = Registry.deploy(w3, account)
    return reg
