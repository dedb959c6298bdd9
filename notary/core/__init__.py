"""notary's proof core: statements, signatures, Merkle trees and verification.

THIS PACKAGE IS CONSENSUS-CRITICAL. Its byte formats (canonical statement bytes, JWS
headers, leaf encoding, tree rule) and its validation rules define proofs that have
already been handed to courts. Changing any of them, even "harmless" clean-ups or a
dependency upgrade that changes output, can make those proofs unverifiable or verify
differently. Change formats only by adding a new schema version next to the old one, and
keep the committed test vectors (tests/vectors/) passing byte for byte.

The package is pure: standard library plus cryptography, joserfc, rfc8785, eth_hash and
multiformats. No network, no processes, no files, no clock (time values come in as
arguments).

Modules: ``errors`` (the exception tree), ``digest`` (streaming SHA-256), ``validate``
(field rules), ``statement`` (the v1 statement), ``signing`` (JWS/Ed25519, keys,
receipts), ``merkle`` (OpenZeppelin-compatible trees), ``verdict`` and ``verify``
(verification results and the end-to-end check), ``bundle`` (the proof bundle's documents
and their verification, docs/bundle-format.md), ``timestamp`` (when an RFC
3161 token over a Merkle root holds; the token is parsed by the adapter ``notary.tsa``).
See docs/formats.md.
"""
