"""The MIME form of every mail the agent writes: header fields from others' words, the body in two parts. Pure.

agent.core.writing.compose writes the headers (`envelope`) and the pages; here is what any of them needs of MIME:
a Subject and the thread's fields that read back as written, a Page as text/plain and text/html, and the T1 as a
message/rfc822 part.
"""

import email
import email.policy
from email.message import EmailMessage

from agent.core.reading.header_cut import header_block
from agent.core.reading.mail import bounded
from agent.core.reading.message_ids import message_ids
from agent.core.reading.text import clean
from agent.core.writing import page
from agent.core.writing.page import Page

_Q_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!*+-/")  # RFC 2047 5(3)


def subject_field(text: str) -> str:
    """Untrusted text as the raw Subject value we write, read back as exactly `clean(text)` by any reader.

    Written as it is when it is short printable ASCII; otherwise as UTF-8 encoded words, each on its own line
    within 78 characters. Setting msg["Subject"] instead is not safe on this Python: the email package decodes
    encoded words in the value it is given, so a subject that decoded to the text `=?utf-8?q?a=0D=0ABcc:_x@evil.test?=`
    was decoded again and written as a Bcc: header; and its folding drops or doubles blanks around encoded words.
    Blanks between encoded words are no part of the text (RFC 2047 6.2), so these always read back the same."""
    text = clean(text)
    if len(text) <= 69 and text.isascii() and text.isprintable() and "=?" not in text:
        return text
    words, word, room = [], "", 69 - len("=?utf-8?q??=")  # the first line also holds "Subject: "
    for ch in text:
        piece = ch if ch in _Q_SAFE else "_" if ch == " " else "".join(f"={b:02X}" for b in ch.encode())
        if word and len(word) + len(piece) > room:
            words.append(f"=?utf-8?q?{word}?=")
            word, room = "", 75 - len("=?utf-8?q??=")
        word += piece
    words.append(f"=?utf-8?q?{word}?=")
    return "\n ".join(words)


def thread_fields(msg: EmailMessage, ids: tuple[str, ...], parent: str) -> None:
    """In-Reply-To the newest of `ids` (else `parent`), References all of them, written as we fold them (see
    compose.POLICY). message_ids keeps only ids that can be written back as they are (no spaces, controls, encoded
    words)."""
    chain = list(dict.fromkeys(message_ids(" ".join(ids))))
    replied_to = chain[-1] if chain else next(iter(message_ids(parent)), None)
    if replied_to:
        msg.set_raw("In-Reply-To", replied_to)
    if chain:
        msg.set_raw("References", "\n ".join(chain))  # one a line: folded between ids, never inside one


def write(msg: EmailMessage, body: Page, attached: bytes | None = None) -> EmailMessage:
    """The one way a mail's body is written: multipart/alternative, the page as text/plain first (what a plain
    reader, and the tests, read), then as text/html. With `attached` (a T1's raw bytes) it becomes multipart/mixed:
    the alternative, then the T1 as message/rfc822."""
    msg.set_content(page.text(body), cte="quoted-printable")
    msg.add_alternative(page.html(body), subtype="html", cte="quoted-printable")
    if attached is not None:
        msg.add_attachment(_as_message(attached), filename="original-T1.eml")
    return msg


# Bytes that str.splitlines() takes for line breaks: the email package splits header values there when it writes
# them out, so that `To: "\x0c"@x` in a T1 came out as a broken header (and `X: a\x0cFrom: b` as a new one). They
# become \x1f, which is no line break but, like them, a blank to str.isspace() and no header character to the
# parser: a line that was no header line stays none.
_SPLITLINES = bytes.maketrans(b"\x0b\x0c\x1c\x1d\x1e", b"\x1f\x1f\x1f\x1f\x1f")


def _as_message(raw: bytes) -> EmailMessage:
    """The T1 as a message/rfc822 part. A mail over the parsing limits goes in as much of it as the agent read
    (agent.core.reading.mail.bounded): whole, a To: with 20,000 addresses took seconds to re-encode and a multipart
    2,000 deep raised RecursionError. It is re-encoded here with every header re-folded, as happens to long ones when
    the escalation is sent: a mail with a header the email package cannot re-fold (it raises IndexError on some)
    goes in as its headers, or as a note."""
    data = bounded(raw)[0].translate(_SPLITLINES)
    head = header_block(data)
    refold_all = email.policy.default.clone(refold_source="all")
    for candidate in (
        data,
        head + b"\r\n[body omitted: it could not be re-encoded]\r\n",
        b"Subject: (the original could not be re-encoded; see the quote above)\r\n\r\n",
    ):
        try:
            msg = email.message_from_bytes(candidate, policy=email.policy.default)
            msg.as_bytes(policy=refold_all)
            return msg
        except Exception:
            continue
    raise AssertionError("unreachable: the last candidate is plain ASCII")
