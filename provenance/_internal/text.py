"""Make untrusted strings (manifest fields, file names) safe for a terminal or a log line."""

from __future__ import annotations

import re
import unicodedata

DEFAULT_LIMIT = 256

# ANSI/VT escape sequences (CSI, OSC, and single-character escapes).
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.")


# Controls, format characters (bidi overrides), line/paragraph separators, and surrogates
# (undecodable bytes of a file name), which no encoder can write.
_UNSAFE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def safe_text(value: object, limit: int = DEFAULT_LIMIT) -> str:
    """Printable, single-line, bounded rendering of an untrusted value.

    Escape sequences are removed, other control and format characters (including
    bidirectional overrides, which can disguise text) and surrogates (undecodable bytes
    of a file name) become U+FFFD, and the result is cut to ``limit`` characters with an
    ellipsis. Rich/HTML markup is left as literal text: callers print it without a markup
    interpreter, and HTML output escapes it.
    """
    text = _ESCAPES.sub("", str(value))
    cleaned = "".join("\ufffd" if unicodedata.category(ch) in _UNSAFE else ch for ch in text)
    if len(cleaned) > limit:
        cleaned = cleaned[: max(0, limit - 1)] + "\u2026"
    return cleaned
