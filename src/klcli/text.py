"""Escape text taken from data before it reaches a terminal, Markdown, HTML or XML.

Labels, column names, file names and cell values come from files that klcli
does not control. Printed raw they can move the cursor, recolour or retitle a
terminal (``ESC [ ...``), reorder a line (bidirectional overrides), break a
Markdown table (``|``), inject markup (``<script>``) or make an XML report
unparsable (``\\x01`` is not allowed anywhere in XML 1.0). Each output path
passes such text through one function here:

- :func:`escape_terminal` for table cells, notes and ``klcli: error:`` lines;
- :func:`escape_markdown` for Markdown table cells and paragraphs;
- :func:`escape_html` for HTML text and quoted attribute values;
- :func:`escape_xml` / :func:`escape_xml_attribute` for XML 1.0 (JUnit and the like);
- :func:`shorten` to keep a quoted value to a readable length.

An escaped character is shown the way Python writes it in a string literal
(``\\x1b``, ``\\n``, ``\\u202e``), so the reader still sees what the data held.
A byte that was not valid UTF-8 and was decoded with ``errors="surrogateescape"``
(a lone surrogate U+DC80..U+DCFF) is shown as the byte it stood for.

>>> escape_terminal("price\\x1b[31m")
'price\\\\x1b[31m'
>>> print(escape_terminal("a\\tb\\x80c"))
a\\tb\\x80c
"""

from __future__ import annotations

import html as _html
import re

__all__ = [
    "escape_terminal",
    "escape_markdown",
    "escape_html",
    "escape_xml",
    "escape_xml_attribute",
    "shorten",
]

# C0 controls, DEL, C1 controls; surrogates (lone, e.g. from surrogateescape);
# line/paragraph separators; bidirectional marks, embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# Characters XML 1.0 forbids everywhere (section 2.2), tab, LF and CR excepted.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

_MARKDOWN = {
    "\\": "\\\\",
    "`": "\\`",
    "|": "\\|",
    "*": "\\*",
    "_": "\\_",
    "[": "\\[",
    "]": "\\]",
    "<": "&lt;",
    ">": "&gt;",
    "&": "&amp;",
}
_MARKDOWN_SPECIAL = re.compile(r"[\\`|*_\[\]<>&]")


def _visible(match: re.Match) -> str:
    """The literal-style spelling of one unsafe character."""
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the undecodable byte itself
        code -= 0xDC00
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_terminal(text: object) -> str:
    """``text`` as one safe line: control, bidi and separator characters spelled out.

    Tab, newline and carriage return become ``\\t``, ``\\n``, ``\\r``; other
    control characters ``\\xNN`` or ``\\uNNNN``. Printable text, including
    non-ASCII letters and emoji, is unchanged.

    >>> escape_terminal("ok")
    'ok'
    >>> print(escape_terminal("two\\nlines"))
    two\\nlines
    >>> print(escape_terminal("\\x1b]0;owned\\x07 title"))
    \\x1b]0;owned\\x07 title
    >>> print(escape_terminal("abc\\u202edcba"))
    abc\\u202edcba
    >>> print(escape_terminal("caf\\xe9 \\u2713"))
    café ✓
    >>> print(escape_terminal(b"bad \\xff byte".decode("utf-8", "surrogateescape")))
    bad \\xff byte
    """
    text = str(text)
    return _UNSAFE.sub(_visible, text) if _UNSAFE.search(text) else text


def escape_markdown(text: object) -> str:
    """``text`` for a Markdown (CommonMark / GitHub) table cell or paragraph.

    Control characters are spelled out as in :func:`escape_terminal`; then
    ``\\ ` | * _ [ ]`` are backslash-escaped and ``< > &`` become entities, so the
    text renders literally: it cannot end a table cell, open a code span,
    emphasis or a link, or carry raw HTML. Not for use inside a code span.

    >>> print(escape_markdown("a|b"))
    a\\|b
    >>> print(escape_markdown("<script>`x`</script>"))
    &lt;script&gt;\\`x\\`&lt;/script&gt;
    >>> print(escape_markdown("new\\nline"))
    new\\\\nline
    >>> print(escape_markdown("plain words 1.5"))
    plain words 1.5
    """
    text = escape_terminal(text)
    return _MARKDOWN_SPECIAL.sub(lambda m: _MARKDOWN[m.group()], text)


def escape_html(text: object) -> str:
    """``text`` for HTML element content or a quoted attribute value.

    Control characters are spelled out as in :func:`escape_terminal` (HTML
    forbids most of them), then ``& < > " '`` become character references.

    >>> escape_html('<b class="x">&</b>')
    '&lt;b class=&quot;x&quot;&gt;&amp;&lt;/b&gt;'
    >>> escape_html("bell\\x07")
    'bell\\\\x07'
    """
    return _html.escape(escape_terminal(text), quote=True)


def _xml_safe(text: object) -> str:
    text = str(text)
    return _XML_FORBIDDEN.sub(_visible, text) if _XML_FORBIDDEN.search(text) else text


def escape_xml(text: object) -> str:
    """``text`` as XML 1.0 character data: always well-formed.

    Characters XML 1.0 forbids (C0 controls other than tab, LF and CR, lone
    surrogates, U+FFFE, U+FFFF) are spelled out as ``\\xNN`` / ``\\uNNNN``;
    ``& < >`` become entity references. Tab and line breaks are kept, so a
    multi-line message stays multi-line.

    >>> escape_xml("a < b & c\\x01")
    'a &lt; b &amp; c\\\\x01'
    >>> escape_xml("line 1\\nline 2")
    'line 1\\nline 2'
    >>> import xml.etree.ElementTree as ET
    >>> ET.fromstring("<m>" + escape_xml("\\x00\\x1b\\ufffe]]>") + "</m>").text
    '\\\\x00\\\\x1b\\\\ufffe]]>'
    """
    return _html.escape(_xml_safe(text), quote=False)


def escape_xml_attribute(text: object) -> str:
    """``text`` as an XML 1.0 attribute value in double or single quotes.

    As :func:`escape_xml`, and quotes become references; tab, LF and CR become
    ``&#9;``, ``&#10;``, ``&#13;`` so that attribute-value normalisation does not
    turn them into spaces.

    >>> escape_xml_attribute('say "hi"\\n\\x01')
    'say &quot;hi&quot;&#10;\\\\x01'
    >>> import xml.etree.ElementTree as ET
    >>> ET.fromstring('<t name="' + escape_xml_attribute("a\\tb\\x02'") + '"/>').get("name")
    "a\\tb\\\\x02'"
    """
    text = _html.escape(_xml_safe(text), quote=True)
    return text.replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")


def shorten(text: object, limit: int = 200) -> str:
    """``text`` cut to at most ``limit`` characters, saying how much was left out.

    Meant for values quoted in messages (a 50 MB line must not become a 50 MB
    error). Apply it before escaping so an escape is never cut in half.

    >>> shorten("abc", 10)
    'abc'
    >>> shorten("x" * 300, 40)
    'xxxxxxxxxxxxxxxxx… (283 more characters)'
    >>> len(shorten("x" * 300, 40))
    40
    """
    text = str(text)
    if len(text) <= limit:
        return text
    keep = max(limit - len(f"… ({len(text)} more characters)"), 0)
    return f"{text[:keep]}… ({len(text) - keep} more characters)"
