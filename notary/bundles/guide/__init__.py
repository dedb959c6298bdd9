"""``VERIFY.md``: how an independent expert checks every claim of one bundle with standard
tools alone, in Chinese and English.

The expert trusts nothing the bundle says about itself. Two things come from outside: the
trust root's **fingerprint** that the operator filed with the court (it names the operator,
the chain, the registry, the anchoring accounts and the signing keys), and a **chain node the
expert chooses** (``RPC``). Every key, registry address and hash the steps use is read from
the trust root, from the signed documents after their signatures verified, or from the chain:
no value a step compares against is written into ``VERIFY.md`` itself, so the steps are the
same for every bundle and a forger's edited copy gains nothing.

Every shell block is a script of its own (``set -euo pipefail``): it prints ``OK`` lines or
stops at the first failure with ``FAILED: ...`` and a non-zero exit status. Block 0 lists the
archive and refuses it (links, duplicate names, ``..``, absolute names, names outside the
manifest) before anything is extracted, then unpacks it; the others run inside the unpacked
folder, in order. The tools are ``sha256sum``/``openssl``, Python 3 with ``jwcrypto`` and
``pycryptodome`` (their real PyPI names; the PyPI name ``notary`` is an unrelated project)
and ``curl`` for JSON-RPC. ``tests/bundle/test_verify_guide.py`` runs the blocks against a
real chain node, on a genuine bundle and on forgeries.

Modules: ``template`` (values as inert Markdown, placeholders, the shared Python prelude),
``documents`` (the scripts that check the bundle's documents offline), ``chain`` (the scripts
that establish time: Merkle proof, anchor, RFC 3161), ``sections`` (the parts that depend on
the bundle), ``declaration`` (the part about a declaration) and ``document`` (the whole guide).
"""

from notary.bundles.guide.chain import batch_of_calldata, verify_inclusion_calldata
from notary.bundles.guide.document import guide_blocks, render_guide
from notary.bundles.guide.template import md

__all__ = ["batch_of_calldata", "guide_blocks", "md", "render_guide", "verify_inclusion_calldata"]
