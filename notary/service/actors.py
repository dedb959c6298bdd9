"""Who did a custody act: a value, never a string parsed back.

Custody events, deletion certificates, share links and retention rules record the actor as a
label (``apikey:ID (role@tenant)``, ``share:ID (link@tenant)``, ``notary-service``...). Those
are signed or stored documents, so :attr:`Actor.label` renders exactly the text they have
always had; code that must know an actor's tenant or whether it reads through a share link
asks the fields instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.db import ApiKey


class ActorKind(StrEnum):
    KEY = "apikey"  # a tenant's API key
    SHARE = "share"  # whoever holds a share link (anonymous: named by the link)
    SUBMITTER = "submitter"  # the submitter a statement names, in its ``registered`` event
    OPERATOR = "cli"  # an operator at the server's command line
    SERVICE = "service"  # the service itself: storing, anchoring
    RETENTION = "retention"  # the service's retention run


@dataclass(frozen=True)
class Actor:
    """One actor: its kind, its id within the kind, and (for keys and links) the role and
    tenant it acted with."""

    kind: ActorKind
    id: str = ""
    role: str | None = None
    tenant: str | None = None

    @classmethod
    def of_key(cls, key: ApiKey) -> Actor:
        """The holder of ``key``: an API key, or a share link (whose key has role ``share``)."""
        if key.role == "share":
            return cls(ActorKind.SHARE, key.id, "link", key.tenant)
        return cls(ActorKind.KEY, key.id, key.role, key.tenant)

    @classmethod
    def operator(cls, name: str) -> Actor:
        """An operator at the server's command line, by login name."""
        return cls(ActorKind.OPERATOR, name)

    @classmethod
    def submitter(cls, submitter: str, tenant: str) -> Actor:
        """Who submitted an item, as its statement names it (``apikey:ID``), for ``tenant``."""
        return cls(ActorKind.SUBMITTER, submitter, None, tenant)

    @property
    def is_share(self) -> bool:
        return self.kind is ActorKind.SHARE

    @property
    def name(self) -> str:
        """The key or link alone (``apikey:ID``, ``share:ID``): a statement's ``submitter``."""
        if self.kind in (ActorKind.KEY, ActorKind.SHARE):
            return f"{self.kind.value}:{self.id}"
        return self.label

    @property
    def label(self) -> str:
        """The text custody events and certificates record (byte for byte as it always was)."""
        match self.kind:
            case ActorKind.KEY | ActorKind.SHARE:
                return f"{self.name} ({self.role}@{self.tenant})"
            case ActorKind.SUBMITTER:
                return f"{self.id} ({self.tenant})"
            case ActorKind.OPERATOR:
                return f"cli:{self.id}"
            case ActorKind.SERVICE:
                return "notary-service"
            case ActorKind.RETENTION:
                return "notary-service:retention"


SERVICE = Actor(ActorKind.SERVICE)
RETENTION = Actor(ActorKind.RETENTION)
