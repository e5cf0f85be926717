"""Whether a command mail may change its incident: only when it is tied to it by what an outsider cannot know. Pure.

Anyone can write `From: alice@partner.test`, a first line `#stop` and the subject `Re: <the T1's subject>`: the
subject (or the vendor's case id in it) finds the incident's thread, but proves nothing about who wrote the mail.
A command counts only when
- its In-Reply-To/References name one of the incident's anchored Message-IDs: the T1's, the agent's own mails' to
  the thread, or those of mails that were themselves tied so (a reply to the vendor's reply to the T1); or
- its Outlook Thread-Index continues an anchored mail's conversation (Outlook and Exchange may send a reply with
  Thread-Index and no References); or
- its sender passed the DMARC (or aligned DKIM) check of `trusted_authserv_id` (agent.core.reading.trust).
A mail that was tied to the thread by its subject or case id alone anchors nothing: else a forger's first mail,
found by its subject, would make its own Message-ID (or Thread-Index) one the forger's second mail could name.
"""

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from agent.core.deciding.classify import Kind
from agent.core.reading.mail import Mail
from agent.core.reading.trust import Verdict

ADVICE = "reply to the T1 or to one of the agent's mails"


class Tie(enum.StrEnum):
    """How a command mail is tied to its incident, strongest first; NONE: it is not, and changes nothing."""

    REFERENCES = "In-Reply-To/References name the incident's mail"
    THREAD_INDEX = "its Outlook Thread-Index continues the incident's conversation"
    DMARC = "its sender passed the trusted DMARC check"
    NONE = "it names none of the incident's Message-IDs (found by its subject or case id alone)"


@dataclass(frozen=True)
class Tied:
    tie: Tie
    reason: str  # for the audit log: which Message-ID, or the DMARC verdict

    @property
    def applies(self) -> bool:
        return self.tie != Tie.NONE


@dataclass(frozen=True)
class ThreadMail:
    """One recorded mail of an incident's thread, as the anchor rule reads it."""

    message_id: str
    original_message_id: str | None  # a relay rewrote its Message-ID and kept this one
    thread_ids: tuple[str, ...]  # its In-Reply-To and References
    thread_index: str | None  # its Outlook conversation key
    kind: str  # its classification (agent.core.deciding.classify.Kind)


@dataclass(frozen=True)
class Anchors:
    """The incident's Message-IDs and Outlook conversation keys that only its own thread knows."""

    message_ids: frozenset[str]
    thread_keys: frozenset[str]


def anchors(thread: Iterable[ThreadMail], own_message_ids: Iterable[str]) -> Anchors:
    """The T1 and the agent's own mails (its outbox rows: never a mail that merely claims the agent's From), then every
    mail of the thread that names one of them, or continues their Outlook conversation, until none is added."""
    mails = [m for m in thread if m.kind != Kind.UNTRUSTED]
    ids = set(own_message_ids)
    keys: set[str] = set()
    pending = []
    for m in mails:
        if m.kind == Kind.T1:
            ids.update(filter(None, (m.message_id, m.original_message_id)))
            keys.update(filter(None, (m.thread_index,)))
        else:
            pending.append(m)
    grew = True
    while grew:  # a thread is tens of mails: a few passes at most
        grew = False
        for m in list(pending):
            own = m.message_id in ids or m.original_message_id in ids
            if own or ids.intersection(m.thread_ids) or (m.thread_index is not None and m.thread_index in keys):
                ids.update(filter(None, (m.message_id, m.original_message_id)))
                keys.update(filter(None, (m.thread_index,)))
                pending.remove(m)
                grew = True
    return Anchors(frozenset(ids), frozenset(keys))


def tie(mail: Mail, known: Anchors, trust: Verdict | None) -> Tied:
    """How `mail` is tied to the incident whose anchors are `known`. `trust`: the DMARC verdict, None when
    `trusted_authserv_id` is unset (a sender is then believed for what it is, never for a command's tie)."""
    named = next((i for i in mail.thread_ids if i in known.message_ids), None)
    if named is not None:
        return Tied(Tie.REFERENCES, f"it replies in the thread ({named})")
    if mail.thread_index is not None and mail.thread_index in known.thread_keys:
        return Tied(Tie.THREAD_INDEX, "its Thread-Index continues the T1's Outlook conversation")
    if trust is not None and trust.trusted:
        return Tied(Tie.DMARC, trust.reason)
    return Tied(Tie.NONE, str(Tie.NONE))


def unprotected(trusted_authserv_id: str | None) -> str | None:
    """`check`'s one line when commands have only their thread to prove them; None when DMARC protects them too."""
    if trusted_authserv_id:
        return None
    return (
        "[escalation] trusted_authserv_id is not set: sender addresses are not authenticated, so a mail command "
        "(#stop, #hold, #escalate, #resume, #status) counts only in reply to the T1 or to one of the agent's mails "
        "(In-Reply-To/References or Outlook's Thread-Index); set it to your mail server's authserv-id to also accept "
        "commands from senders that pass its DMARC check"
    )
