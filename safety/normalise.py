"""Text normalisation shared by the safety net's phrases and the messages they are matched against.

Both sides go through the same steps, so a professional writes a phrase in plain Dutch or English and it still
matches "K WIL NT MEER LEVÉÉÉN": case and accents are dropped, a run of one letter becomes one letter
("doooood" and "dood" both become "dod"), and chat spellings are expanded ("k" -> "ik", "nt" -> "niet").
"""

import re
import unicodedata
from collections.abc import Mapping

_APOSTROPHES = re.compile("[\u0027\u2019\u2018\u0060\u00b4]")
# Invisible format characters (Unicode category Cf: soft hyphen, zero-width space and joiners, bidi controls, ...).
# Inside a word they would split it ("le\u00adven" -> "le", "ven") and let a message slip past the safety net.
FORMAT_CHARACTERS = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_REPEATS = re.compile(r"([a-z])\1+")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", FORMAT_CHARACTERS.sub("", text).casefold())
    if decomposed.isascii():  # nothing to drop (the common case, and fast for a very long message)
        return decomposed
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _collapse(token: str) -> str:
    return _REPEATS.sub(r"\1", token)


_STRETCHED = re.compile(r"([a-z])\1{2,}")


def _unstretched(token: str) -> tuple[str, ...]:
    """The ways a chat spelling may be stretched ("kwiiil", "fffff"): a run of three or more letters as one or as two.
    A word's own double letters stay ("woont" is not "wont", "uur" is not "ur")."""
    return (token, _STRETCHED.sub(r"\1", token), _STRETCHED.sub(r"\1\1", token))


class Normaliser:
    """Turns text into a list of comparable tokens, expanding chat spellings from a lookup table."""

    def __init__(self, spellings: Mapping[str, str]) -> None:
        self._spellings: dict[str, list[str]] = {}
        for written, meant in spellings.items():
            self._spellings[_fold(str(written))] = [
                _collapse(word) for word in _NOT_WORD.split(_fold(str(meant))) if word
            ]

    def tokens(self, text: str) -> list[str]:
        """Tokens of ``text``: folded, apostrophes dropped ("m'n" -> "mn"), spellings expanded (also stretched:
        "kwiiil"), repeats collapsed. A spelling is looked up before the collapse, so that a word's own double letters
        never make it a chat spelling ("hij woont bij ons" would read "hij will not bij ons")."""
        folded = _APOSTROPHES.sub("", _fold(text))
        stretched = _STRETCHED.search(folded) is not None  # most messages stretch nothing: one lookup per token
        result: list[str] = []
        for token in _NOT_WORD.split(folded):
            if not token:
                continue
            forms = _unstretched(token) if stretched else (token,)
            meant = next((self._spellings[form] for form in forms if form in self._spellings), None)
            result.extend(meant if meant is not None else [_collapse(token)])
        return result
