"""The CJK font embedded in PDF certificates, found on this machine.

A judge's PDF viewer may have no Chinese font, so every certificate embeds (a subset of) its
font. The preferred font is Noto Sans CJK SC from the Debian package ``fonts-noto-cjk``
(OpenType collections with CFF outlines, which fpdf2 embeds); WenQuanYi Zen Hei is a
fallback, then whatever ``fc-match`` offers for Simplified Chinese.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .model import CertificateError

__all__ = ["CertificateFonts", "FontFace", "find_fonts"]

_NOTO_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/noto-cjk"),
              Path("/usr/share/fonts/google-noto-cjk"))
# Faces inside the Noto CJK collections: 2 = Sans CJK SC, 7 = Sans Mono CJK SC.
_NOTO_SC, _NOTO_MONO_SC = 2, 7
_WQY = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


@dataclass(frozen=True)
class FontFace:
    """A font file and the face's index in it (collections hold several faces)."""

    path: Path
    index: int = 0


@dataclass(frozen=True)
class CertificateFonts:
    """Body text, headings, and hashes (fixed width)."""

    regular: FontFace
    bold: FontFace
    mono: FontFace


def _fc_match(pattern: str) -> FontFace | None:
    fc = shutil.which("fc-match")
    if fc is None:
        return None
    out = subprocess.run([fc, "-f", "%{file}|%{index}", pattern], capture_output=True,
                         text=True, timeout=10, check=False)
    path, _, index = out.stdout.partition("|")
    if out.returncode != 0 or not path or not Path(path).is_file():
        return None
    return FontFace(Path(path), int(index or 0))


@lru_cache(maxsize=1)
def find_fonts() -> CertificateFonts:
    """The fonts for certificates. Raises :class:`CertificateError`
    (``certificate_font_missing``) naming the package to install when there is none."""
    for folder in _NOTO_DIRS:
        regular, bold = folder / "NotoSansCJK-Regular.ttc", folder / "NotoSansCJK-Bold.ttc"
        if regular.is_file():
            return CertificateFonts(
                regular=FontFace(regular, _NOTO_SC),
                bold=FontFace(bold if bold.is_file() else regular, _NOTO_SC),
                mono=FontFace(regular, _NOTO_MONO_SC),
            )
    if _WQY.is_file():
        face = FontFace(_WQY, 0)
        return CertificateFonts(face, face, FontFace(_WQY, 1))
    found = _fc_match("sans-serif:lang=zh-cn")
    # fc-match always answers something; only a CJK family is worth embedding.
    if found is not None and any(tag in found.path.name.lower()
                                 for tag in ("cjk", "wqy", "han", "hei", "song")):
        return CertificateFonts(found, found, found)
    raise CertificateError(
        "No Chinese font to embed in the certificate; install the Debian package "
        "'fonts-noto-cjk'.",
        code="certificate_font_missing",
    )
