"""A whole mail's own words: its text parts decoded from the charset they declare (as its superset), and HTML
made readable. Pure; `agent.core.reading.mail` hands it the message a parser made of the mail, cut to the limits."""

import email.message
import html
import re

from agent.core.reading.text import SUPERSETS

_STYLE = re.compile(r"<(style|head|script)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^<>]*>")  # not [^>]*: on "<<<<..." that is quadratic
_BLOCK_TAG = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h\d)\b[^<>]*>", re.IGNORECASE)


def bodies(msg: email.message.Message) -> tuple[str, str]:
    """(plain, html) of the mail itself, each text part decoded from its declared charset (as its superset).

    Not mail-parser's text_plain: it returns 7bit and 8bit parts undecoded, so an ISO-2022-JP body (how
    Japanese clients send) stayed escape sequences. Attachments and attached messages are not the
    sender's words and are left out.
    """
    plain: list[str] = []
    markup: list[str] = []
    stack = [msg]
    while stack:
        part = stack.pop(0)
        if part.is_multipart():
            stack[:0] = [p for p in (part.get_payload() or []) if not isinstance(p, str)]
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html") or part.get_content_disposition() == "attachment":
            continue
        data = part.get_payload(decode=True) or b""
        assert isinstance(data, bytes)  # a part that is not multipart decodes to bytes
        declared = (part.get_content_charset() or "us-ascii").lower()
        try:
            text = data.decode(SUPERSETS.get(declared, declared), errors="replace")
        except LookupError:  # a charset nobody knows: UTF-8 is the likeliest truth
            text = data.decode("utf-8", errors="replace")
        (plain if ctype == "text/plain" else markup).append(text.replace("\r\n", "\n"))
    return "\n".join(plain), "\n".join(markup)


def readable(plain: str, markup: str) -> str:
    """The plain text, or, when there is none, the HTML with its tags out and its entities decoded."""
    if plain.strip():
        return plain
    text = html.unescape(_TAG.sub("", _BLOCK_TAG.sub("\n", _STYLE.sub("", markup))))
    return "\n".join(line.rstrip() for line in text.splitlines())
