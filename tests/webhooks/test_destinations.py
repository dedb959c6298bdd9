"""The destination filter judges an IPv6 address that reaches an IPv4 one by the IPv4 address
it reaches: NAT64, 6to4, Teredo and IPv4-compatible forms of loopback, private or link-local
addresses are refused like the addresses themselves, and so is the old site-local range."""

from __future__ import annotations

import pytest

from notary.service.webhooks import _public

#: Each an address the service must not call, and why.
REFUSED = [
    ("127.0.0.1", "loopback"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("64:ff9b::7f00:1", "NAT64 of 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254 (cloud metadata)"),
    ("64:ff9b::a00:1", "NAT64 of 10.0.0.1"),
    ("64:ff9b:1::7f00:1", "local-use NAT64 (64:ff9b:1::/48)"),
    ("64:ff9b:1:ffff::808:808", "local-use NAT64, even of a public address"),
    ("2002:7f00:1::", "6to4 of 127.0.0.1"),
    ("2002:a9fe:a9fe::1", "6to4 of 169.254.169.254"),
    ("2002:c0a8:1::1", "6to4 of 192.168.0.1"),
    ("2001:0:4136:e378:8000:63bf:80ff:fefe", "Teredo of client 127.0.1.1"),
    ("2001:0:7f00:1:8000:63bf:f7f7:f7f7", "Teredo through server 127.0.0.1"),
    ("::127.0.0.1", "IPv4-compatible loopback"),
    ("::a9fe:a9fe", "IPv4-compatible 169.254.169.254"),
    ("::10.0.0.1", "IPv4-compatible private"),
    ("fec0::1", "site-local"),
    ("feff:ffff::1", "site-local, top of fec0::/10"),
    ("::1", "IPv6 loopback"),
    ("::", "unspecified"),
    ("fe80::1%eth0", "link-local with a zone"),
]
PUBLIC = ["8.8.8.8", "::ffff:8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808",
          "2002:808:808::1"]


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_addresses_reaching_private_ones_are_refused(address: str, why: str) -> None:
    assert not _public(address), why


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert _public(address)
