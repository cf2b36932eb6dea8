"""How a file is written: its text encoding and its delimiter, detected or configured.

Encoding: a byte-order mark decides (UTF-8, UTF-16); otherwise the file is UTF-8 if all of
it decodes as UTF-8, else Windows-1252 if all of it decodes as that, else Latin-1 (which
decodes any bytes). charset-normalizer was tried for the 8-bit case and named cp1257 or
cp1250 for Western European customer files, so the deterministic rule above is used; it
never guesses silently: the summary says which encoding was used.

Delimiter: the candidate under which the header names the most known columns. csv.Sniffer
guesses from character frequencies and is misled by quoted commas; we know what the header
must say, which decides it.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable
from pathlib import Path

from customer_etl.core.errors import InputFileError
from customer_etl.core.mapping import normalise_header

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
ENCODINGS: tuple[str, ...] = ("utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1")
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BLOCK = 1 << 20
HEAD_BYTES = 64 * 1024


def detect_encoding(path: Path, head: bytes) -> str:
    """The encoding of the file whose first bytes are `head`; InputFileError for binary."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    if b"\x00" in head:
        raise InputFileError(f"input file {path.name} is binary, not a CSV text file")
    for encoding in ("utf-8", "cp1252"):
        if _decodes(path, encoding):
            return encoding
    return "latin-1"


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as handle:
            while block := handle.read(_BLOCK):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def head_text(head: bytes, encoding: str) -> str:
    """The decoded start of a file, without a character cut at the end of `head`."""
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)


def detect_delimiter(text: str, known: Iterable[str]) -> str:
    """The delimiter under which the first non-blank line names the most `known` columns
    (normalised names); ties go to more fields, then to the order of DELIMITERS."""
    names = set(known)

    def score(delimiter: str) -> tuple[int, int]:
        header = first_row(text, delimiter)
        return sum(normalise_header(n) in names for n in header), len(header)

    best = max(DELIMITERS, key=lambda d: (score(d), -DELIMITERS.index(d)))
    return best


def first_row(text: str, delimiter: str) -> list[str]:
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            if any(cell.strip() for cell in row):
                return row
    except csv.Error:
        return []
    return []
