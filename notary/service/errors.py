"""The service's shared errors, apart from the facade so every part can raise them.

One not-found: whatever is missing, or not this caller's to see, is :class:`NotFound` (404),
answered alike so an answer never tells which; a more specific ``code`` (``not_anchored``,
``tenant_not_found``, ...) says what was looked for.
"""

from __future__ import annotations

import notary.core.errors as kinds
from notary.core.errors import NotaryError


class NotFound(NotaryError):
    """Not found, or not this caller's to see (the two are answered alike)."""

    kind = kinds.NOT_FOUND

    default_code = "not_found"


class Shredded(NotaryError):
    """The item's content was crypto-shredded: nobody can produce it any more."""

    kind = kinds.GONE

    default_code = "shredded"
