"""The rows and sections a certificate is laid out in, apart from the model so that the
section builders (the call record's among them) and the model both build on them."""

from __future__ import annotations

from dataclasses import dataclass

from .wording import Bilingual


@dataclass(frozen=True)
class Row:
    """One labelled value. ``mono`` values are hashes and addresses (set in a fixed-width
    font and broken anywhere); ``note`` is a smaller second line; ``link`` a URL."""

    label: Bilingual
    value: str
    mono: bool = False
    note: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class Section:
    title: Bilingual
    rows: tuple[Row, ...]
