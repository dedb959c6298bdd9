"""Actors are values; their labels are the exact text custody events have always signed."""

from datetime import UTC, datetime

from notary.core.custody import CustodyAct
from notary.service.actors import RETENTION, SERVICE, Actor, ActorKind
from notary.service.custody import coalesce_key
from storage.db import ApiKey


def _key(role: str, tenant: str = "lender-a") -> ApiKey:
    return ApiKey(id="0f3c9a7e", key_hash="x", role=role, tenant=tenant,
                  created_at=datetime.now(UTC))


def test_labels_are_the_strings_signed_so_far() -> None:
    assert Actor.of_key(_key("collector")).label == "apikey:0f3c9a7e (collector@lender-a)"
    assert Actor.of_key(_key("share")).label == "share:0f3c9a7e (link@lender-a)"
    assert Actor.submitter("apikey:0f3c9a7e", "lender-a").label == "apikey:0f3c9a7e (lender-a)"
    assert Actor.operator("root").label == "cli:root"
    assert SERVICE.label == "notary-service"
    assert RETENTION.label == "notary-service:retention"


def test_code_decides_on_fields() -> None:
    reader, key = Actor.of_key(_key("share")), Actor.of_key(_key("admin", "agency-b"))
    assert reader.kind is ActorKind.SHARE and reader.is_share and reader.tenant == "lender-a"
    assert key.kind is ActorKind.KEY and not key.is_share and key.tenant == "agency-b"
    assert key.name == "apikey:0f3c9a7e" and Actor.operator("root").tenant is None


def test_only_share_reads_coalesce_and_keep_their_stored_key() -> None:
    reader = Actor.of_key(_key("share"))
    assert coalesce_key(CustodyAct.VIEWED, reader) == "viewed|share:0f3c9a7e"
    assert coalesce_key(CustodyAct.EXPORTED, reader) == "exported|share:0f3c9a7e"
    assert coalesce_key(CustodyAct.SHARED, reader) is None
    assert coalesce_key(CustodyAct.VIEWED, Actor.of_key(_key("admin"))) is None
