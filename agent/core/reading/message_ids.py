"""Message-IDs as a mail's header fields give them: the ids in a field's text, and the one a relay kept. Pure."""

import re

from agent.core.reading.headers import Header
from agent.core.reading.text import clean

MAX_MESSAGE_ID = 250  # characters in one Message-ID, brackets included
# Where Outlook.com and Gmail keep the Message-ID of mail they relay under a new one.
ORIGINAL_MESSAGE_ID_HEADERS = ("X-Microsoft-Original-Message-ID", "X-Google-Original-Message-ID")

_MSGID = re.compile(rf"<[\x21-\x3b\x3d\x3f-\x7e]{{1,{MAX_MESSAGE_ID - 2}}}>")  # printable ASCII


def message_ids(text: str | None) -> tuple[str, ...]:
    """The `<...>` Message-IDs in `text`: printable ASCII only, and none with `=?` in it, which the email package
    would take for an RFC 2047 encoded word (even inside the brackets) when In-Reply-To or References is read."""
    return tuple(i for i in _MSGID.findall(text or "") if "=?" not in i)


def original_message_id(header: Header, message_id: str) -> str | None:
    """The id a relay kept when it replaced the Message-ID; bare ids (no angle brackets) are taken too."""
    for name in ORIGINAL_MESSAGE_ID_HEADERS:
        value = clean(header(name))[: MAX_MESSAGE_ID + 2]
        if not value:
            continue
        found = message_ids(value) or message_ids(f"<{value.strip('<> ')}>")
        if found and found[0] != message_id:
            return found[0]
    return None
