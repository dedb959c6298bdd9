"""notary.core.note: the C2SP signed-note example verifies, checkpoints and cosignatures
round-trip, and every malformed or forged variant is refused."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from notary.core import note, tlog

pytestmark = pytest.mark.unit

# the example of c2sp.org/signed-note ("Verifier keys" / "Example")
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = ("This is an example message.\n\n\u2014 example.com/foo "
             "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq"
             "6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n").encode()


def test_the_spec_example_verifies_and_a_changed_byte_does_not() -> None:
    verifier = note.Verifier.from_vkey(SPEC_VKEY)
    assert verifier.vkey == SPEC_VKEY
    parsed = note.Note.parse(SPEC_NOTE)
    assert parsed.text == b"This is an example message.\n"
    assert parsed.verify([verifier]) == {verifier: None}
    assert parsed.encode() == SPEC_NOTE
    forged = note.Note.parse(SPEC_NOTE.replace(b"example message", b"example massage"))
    with pytest.raises(note.NoteError, match="does not verify"):
        forged.verify([verifier])


def test_unknown_keys_are_ignored_but_a_note_needs_one_known_key() -> None:
    log = note.Signer("example.com/log", note.ED25519, Ed25519PrivateKey.generate())
    other = note.Signer("example.com/log", note.ED25519, Ed25519PrivateKey.generate())
    text = tlog_checkpoint(3).text()
    signed = note.Note(text, (other.sign(text), log.sign(text)))
    assert signed.verify([log.verifier]) == {log.verifier: None}
    with pytest.raises(note.NoteError, match="no signature of a known key"):
        note.Note(text, (other.sign(text),)).verify([log.verifier])


def tlog_checkpoint(size: int) -> note.Checkpoint:
    leaves = [tlog.leaf_hash(bytes([i])) for i in range(size)]
    return note.Checkpoint("notary.example/log", size, tlog.root(leaves))


def test_a_cosignature_carries_its_time_and_signs_it() -> None:
    log = note.Signer("notary.example/log", note.ED25519, Ed25519PrivateKey.generate())
    witness = note.Signer("court.example/w1", note.COSIGNATURE, Ed25519PrivateKey.generate())
    text = tlog_checkpoint(5).text()
    signed = note.Note(text, (log.sign(text), witness.sign(text, 1_700_000_000)))
    again = note.Note.parse(signed.encode())
    assert again.verify([log.verifier, witness.verifier]) == {
        log.verifier: None, witness.verifier: 1_700_000_000}
    # the time is signed: moving it invalidates the cosignature
    line = again.signatures[1]
    moved = note.Signature(line.name, line.key_id,
                           (1_700_000_001).to_bytes(8, "big") + line.body[8:])
    with pytest.raises(note.NoteError, match="does not verify"):
        note.Note(text, (again.signatures[0], moved)).verify([witness.verifier])
    # the same key as a log key (type 0x01) has another key id: a cosignature is not a
    # log signature
    as_log = note.Verifier(witness.verifier.name, note.ED25519, witness.verifier.public)
    assert as_log.key_id != witness.verifier.key_id
    assert note.Verifier.from_vkey(witness.verifier.vkey) == witness.verifier


def test_checkpoints_round_trip_and_bad_ones_are_refused() -> None:
    cp = tlog_checkpoint(7)
    assert note.Checkpoint.parse(cp.text()) == cp
    assert cp.text().decode().splitlines()[1] == "7"
    empty = note.Checkpoint("o", 0, tlog.EMPTY_ROOT)
    assert note.Checkpoint.parse(empty.text()) == empty
    root = base64.b64encode(cp.root).decode()
    # base64 whose last character carries stray bits decodes to the same root: refused, so
    # that one checkpoint has one text (what the log signed is what a witness cosigns)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    stray = root[:-2] + alphabet[alphabet.index(root[-2]) ^ 1] + "="
    assert base64.b64decode(stray) == cp.root and stray != root
    for bad in (f"o\n07\n{root}\n", f"o\n7\n{root}", f"o\n-1\n{root}\n", "o\n7\nAAAA\n",
                f"\n7\n{root}\n", f"o\n7\n{root}\n\n", f"o\n7\n{stray}\n"):
        with pytest.raises(note.NoteError):
            note.Checkpoint.parse(bad.encode())


@pytest.mark.parametrize("bad", [
    b"no blank line\n\xe2\x80\x94 k AAAAAAA=\n",
    b"text\n\n",
    b"text\n\n\xe2\x80\x94 k AAAAAAA=",  # no final newline
    b"text\n\n- k AAAAAAA=\n",
    b"text\x01\n\n\xe2\x80\x94 k AAAAAAA=\n",
    b"text\n\n\xe2\x80\x94 k+x AAAAAAA=\n",
    b"text\n\n\xe2\x80\x94 k AAAA\n",  # shorter than a key id and one byte
    b"text\n\n\xe2\x80\x94 k not*base64\n",
    b"\xff\n\n\xe2\x80\x94 k AAAAAAA=\n",
    b"text\n\n" + b"\xe2\x80\x94 k AAAAAAA=\n" * 33,
    b"text\n\n" + b"\xe2\x80\x94 k AAAAAAA=\n" * 2,  # one key signs once
    # one newline-terminated line holding U+2028 is one (malformed) line, not two signatures
    "text\n\n\u2014 k AAAAAAA=\u2028\u2014 j AAAAAAA=\n".encode(),
])
def test_malformed_notes_are_refused(bad: bytes) -> None:
    with pytest.raises(note.NoteError):
        note.Note.parse(bad)


def test_vkeys_with_a_wrong_id_or_type_are_refused() -> None:
    good = note.Verifier.from_vkey(SPEC_VKEY)
    with pytest.raises(note.NoteError):
        note.Verifier.from_vkey(SPEC_VKEY.replace("530d903a", "530d903b"))
    with pytest.raises(note.NoteError):
        note.Verifier.from_vkey("example.com/foo+530d903a+" + base64.b64encode(
            b"\x02" + good.public).decode())
