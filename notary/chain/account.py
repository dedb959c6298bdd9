"""The chain account that sends anchor transactions, kept under ``NOTARY_HOME/keys``.

With ``NOTARY_KEY_PASSPHRASE`` set the key is stored as an Ethereum keystore (v3, scrypt), which
operators can also open with standard wallet tools; otherwise as hex in a 0600 file.
"""

from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from notary.core.errors import KeyMaterialError
from notary.keyfiles import load_or_create, read_secret


def load_chain_account(keys_dir: Path, passphrase: str | None) -> LocalAccount:
    """Load the notary's chain account, creating it on first start."""
    path = keys_dir / ("chain-account.json" if passphrase else "chain-account.key")

    def make() -> bytes:
        acct = Account.create()
        if passphrase:
            return json.dumps(Account.encrypt(acct.key, passphrase)).encode()
        return acct.key.hex().encode()

    raw = load_or_create(path, make)
    try:
        if passphrase:
            return Account.from_key(Account.decrypt(json.loads(raw), passphrase))
        return Account.from_key(bytes.fromhex(raw.decode().strip().removeprefix("0x")))
    except (ValueError, KeyError) as exc:
        raise KeyMaterialError(
            f"cannot open the chain account in {path}: wrong passphrase or damaged file",
            code="key_unreadable",
        ) from exc


def load_keystore_file(path: Path, passphrase: str) -> LocalAccount:
    """Open an operator-provided keystore file (external chains)."""
    try:
        return Account.from_key(Account.decrypt(json.loads(read_secret(path)), passphrase))
    except (ValueError, KeyError, OSError) as exc:
        raise KeyMaterialError(
            f"cannot open keystore {path}: wrong passphrase or not a keystore file",
            code="key_unreadable",
        ) from exc
