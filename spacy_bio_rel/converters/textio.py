"""Reading input text: strict decoding, a byte order mark stripped, errors naming the file.

Every reader decodes through :func:`read_text`. Bytes that are not valid in
the chosen encoding (``--encoding``, default UTF-8) stop the conversion with
an :class:`InputError` naming the file, the byte offset and the line: a wrong
encoding would otherwise turn text into replacement characters and shift or
break every offset. A leading byte order mark (U+FEFF) is not text: it is
removed, so offsets count from the first character after it.
"""

import codecs
from pathlib import Path
from typing import Union

DEFAULT_ENCODING = "utf-8"
BOM = "\ufeff"


class InputError(ValueError):
    """An input file cannot be converted; the message names the file and place."""


def check_encoding(encoding: str) -> str:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(
            f"Unknown encoding {encoding!r} (--encoding): use a Python codec name such as utf-8, gbk, utf-16"
        )
    return encoding


def decode(data: bytes, path: Union[str, Path], encoding: str = DEFAULT_ENCODING) -> str:
    """``data`` (the bytes of ``path``) as text, strictly, without a leading byte order mark."""
    try:
        text = data.decode(check_encoding(encoding))
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise InputError(
            f"{path}: not valid {encoding} at byte {e.start} (line {line}): "
            f"{data[e.start : e.end]!r} ({e.reason}); name the file's encoding with --encoding"
        )
    return text[1:] if text.startswith(BOM) else text


def read_text(path: Union[str, Path], encoding: str = DEFAULT_ENCODING) -> str:
    """The text of ``path`` (line ends kept as they are)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror or e})")
    return decode(data, path, encoding)
