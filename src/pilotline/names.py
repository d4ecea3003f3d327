"""When two spellings name the same person: user names, respondents and the skills matrix all
compare names this way, so ``Mia``, ``MIA``, ``ｍｉａ`` (full-width) and ``Mía`` are one person,
and ``Straße`` is ``STRASSE``.
"""

from __future__ import annotations

import unicodedata


def name_key(name: str) -> str:
    """The spelling-free form of a name: compatibility-normalised, case-folded, without accents,
    with runs of blanks as one space."""
    folded = unicodedata.normalize("NFKD", name).casefold()
    bare = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFKC", bare).split())
