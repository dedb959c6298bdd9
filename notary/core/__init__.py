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
(field rules), ``statement`` (the v1 statement), ``jws`` (the rules of a compact JWS and of
Ed25519 JWKs), ``signing`` (keys, and ``SignedFormat``, the one way a document is signed
and verified: statements, receipts, custody events, deletion certificates, the trust root),
``merkle`` (OpenZeppelin-compatible trees and the notary leaf), ``verdict`` and ``verify``
(verification results and the end-to-end check), ``keyhistory`` (keys with their periods),
``bundle`` (a package: the proof bundle's documents and their verification, one module per
concept, docs/bundle-format.md), ``declaration`` and ``declaration_verify`` (the
declaration of a bundle's records, §5.1), ``trustroot`` and ``trustroot_members`` (the trust
root), ``timestamp`` (when an RFC 3161 token over a Merkle root holds; the token is parsed by
the adapter ``notary.tsa``). See docs/formats.md.
"""
