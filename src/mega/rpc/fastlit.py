"""A fast path for the common, simple literals of the 1104 protocol (standard library only).

Parsing every request with :func:`ast.parse` costs about 25 µs, most of the RPC server's time.
Nearly all real payloads are flat dicts of plain strings and small integers, and ``ARGS`` is a
short list of such values, so this module reads that strict subset with one regular expression:

* strings in single or double quotes with no backslash, newline or NUL inside (no prefixes);
* decimal integers without leading zeros or underscores, optionally with a ``-`` sign attached;
* ``None``, ``True``, ``False``;
* lists, tuples and dicts of those (nesting at most 32 deep), trailing commas allowed;
* spaces and tabs between tokens.

Anything else (escapes, floats, newlines, names, operators, prefixes...) raises
:class:`NotSimple`, and the caller falls back to the authoritative :mod:`ast` path, which also
produces every error message. So this never accepts what the ast path refuses, and for what it
accepts it builds exactly the same value (a differential property test checks both). It never
evaluates anything: it slices strings and calls ``int`` on digit strings.
"""

from __future__ import annotations

import keyword
import re
from typing import Any, Final

_TOKEN: Final = re.compile(
    r"""[ \t]*(?:
      ('[^'\\\n\r\x00]*'|"[^"\\\n\r\x00]*")         # 1 plain string
    | (-?(?:0|[1-9][0-9]{0,99}))(?![0-9A-Za-z_.])   # 2 integer
    | (None|True|False)(?![0-9A-Za-z_])             # 3 constant
    | ([A-Za-z_][A-Za-z0-9_]*)[ \t]*=(?!=)          # 4 keyword argument name
    | ([\[\](){}:,])                                # 5 punctuation
    | ([\s\S])                                      # 6 anything else
    )""",
    re.VERBOSE,
)
_CONSTANTS: Final = {"None": None, "True": True, "False": False}
_CLOSE: Final = {"[": "]", "(": ")", "{": "}"}
_END: Final = ("", "", "", "", "", "")
_MAX_DEPTH: Final = 32

Token = tuple[str, str, str, str, str, str]


class NotSimple(Exception):
    """The text is outside the fast subset; use the :mod:`ast` path."""


def _tokens(text: str) -> list[Token]:
    tokens: list[Token] = _TOKEN.findall(text)
    tokens.append(_END)
    return tokens


def _value(tokens: list[Token], i: int, depth: int) -> tuple[Any, int]:
    """Parse the value starting at token ``i``; returns (value, next index)."""
    string, integer, constant, _name, punct, _other = tokens[i]
    if string:
        return string[1:-1], i + 1
    if integer:
        return int(integer), i + 1
    if constant:
        return _CONSTANTS[constant], i + 1
    if punct in _CLOSE and depth < _MAX_DEPTH:
        return _container(tokens, i, depth + 1)
    raise NotSimple


def _container(tokens: list[Token], i: int, depth: int) -> tuple[Any, int]:
    """Parse ``[...]``, ``(...)`` or ``{...}`` starting at the opening token ``i``."""
    opening = tokens[i][4]
    closing = _CLOSE[opening]
    items: list[Any] = []
    pairs: dict[Any, Any] = {}
    commas = 0
    i += 1
    while tokens[i][4] != closing:
        if opening == "{":
            key, i = _value(tokens, i, depth)
            if tokens[i][4] != ":":
                raise NotSimple
            value, i = _value(tokens, i + 1, depth)
            try:
                pairs[key] = value
            except TypeError:
                raise NotSimple from None
        else:
            value, i = _value(tokens, i, depth)
            items.append(value)
        punct = tokens[i][4]
        if punct == ",":
            commas += 1
            i += 1
        elif punct != closing:
            raise NotSimple
    if opening == "{":
        return pairs, i + 1
    if opening == "[":
        return items, i + 1
    if len(items) == 1 and commas == 0:
        return items[0], i + 1  # "(x)" is x, not a tuple
    return tuple(items), i + 1


def parse_value(text: str) -> Any:
    """The value of ``text`` if it is a simple literal.

    :raises NotSimple: otherwise (the caller must use the :mod:`ast` path).
    """
    tokens = _tokens(text.strip())
    try:
        value, i = _value(tokens, 0, 0)
    except ValueError:  # int() over the digit limit
        raise NotSimple from None
    if i != len(tokens) - 1:
        raise NotSimple
    return value


def parse_call_args(text: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Positional and keyword arguments of call text like ``"'a', 3306, model='backup'"``.

    :raises NotSimple: if the text is outside the fast subset, or would be a syntax error
        (positional after keyword, repeated keyword, Python keyword as a name).
    """
    tokens = _tokens(text.strip())
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    i = 0
    last = len(tokens) - 1
    try:
        while i < last:
            name = tokens[i][3]
            if name:
                if name in kwargs or keyword.iskeyword(name) or name == "__debug__":
                    raise NotSimple
                kwargs[name], i = _value(tokens, i + 1, 0)
            elif kwargs:
                raise NotSimple  # positional argument after a keyword argument
            else:
                value, i = _value(tokens, i, 0)
                args.append(value)
            if tokens[i][4] == ",":
                i += 1
            elif i != last:
                raise NotSimple
    except ValueError:
        raise NotSimple from None
    return tuple(args), kwargs
