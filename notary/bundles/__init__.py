"""Proof bundles as ZIP archives: reading untrusted ones safely, writing ours as a stream,
the ``VERIFY.md`` guide and the declaration's wording inside them, the qualified person's
signature of a declaration, and verification of a bundle file end to end.

The bundle *format* and its verification rules are in :mod:`notary.core.bundle` (pure); this
package is the adapter between that core and bytes on disk or on the wire.
"""
