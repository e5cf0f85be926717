"""One outage, one ladder: whether a second T1 reports the outage an open incident is already escalating. Pure.

Two engineers of one partner often mail the urgent line within seconds about the same outage, each in a thread of
their own. Two incidents would send the vendor's management two T2s for one problem. A T1 joins an open incident
only on firm evidence, the SOP's own items, all three of them, as core/procedure/items.py reads them:
- the same Partner ID (case and blanks aside);
- the same marketplace (as core/procedure/routing.py names it: US, DE, JP...);
- the same error: the same API error code (F100...F500) when both give one, else the same error name or text.
A missing item is no evidence: when unsure, two incidents, as before.
"""

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass


class Sameness(enum.StrEnum):
    """Why a T1 does, or does not, join an open incident. Only SAME joins."""

    SAME = "same partner id, marketplace and error"
    NO_PARTNER_ID = "a partner id is missing"
    OTHER_PARTNER_ID = "another partner id"
    NO_MARKETPLACE = "a marketplace is missing or unclear"
    OTHER_MARKETPLACE = "another marketplace"
    NO_ERROR = "an error is missing"
    OTHER_ERROR = "another error"
    NO_OPEN_INCIDENT = "no incident is awaiting a response"
    OFF = "[escalation] join_same_outage is off"


@dataclass(frozen=True)
class Outage:
    """What identifies an outage in a T1: its partner, its marketplace, its error."""

    partner_id: str | None
    marketplace: str | None
    error_code: str | None  # the API's error code: F500
    error_name: str | None  # the error's name or text, without blanks and case: "generalerror"

    def says(self) -> str:
        error = self.error_code or self.error_name or "?"
        return f"partner id {self.partner_id or '?'}, marketplace {self.marketplace or '?'}, error {error}"


# The AGCOD API's error codes: a letter and three digits (F100, F200, F300, F400, F500).
_CODE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z][1-9]\d{2})(?![A-Za-z0-9])")
_NAME = re.compile(r"\b([A-Z][a-z]+(?:[A-Z][a-z]+)+)\b")  # GeneralError, InvalidRequest: the error's CamelCase name
_WORDS = re.compile(r"[^0-9a-z]+")


def of(items: dict[str, str], marketplace: str | None) -> Outage:
    """The outage a T1 reports, from its SOP items (core/procedure/items.py `extract`) and marketplace
    (core/procedure/routing.py)."""
    partner = " ".join((items.get("partner_id") or "").split()).casefold() or None
    error = items.get("error") or ""
    codes = _CODE.findall(error) or _CODE.findall(items.get("problem") or "")
    code = codes[0].upper() if codes else None
    names = _NAME.findall(error)
    name = names[0].lower() if names else _WORDS.sub("", _CODE.sub(" ", error).lower())[:80] or None
    return Outage(partner, (marketplace or "").upper() or None, code, name)


def same(new: Outage, old: Outage) -> Sameness:
    """Does `new` report the outage `old` reports?"""
    if not new.partner_id or not old.partner_id:
        return Sameness.NO_PARTNER_ID
    if new.partner_id != old.partner_id:
        return Sameness.OTHER_PARTNER_ID
    if not new.marketplace or not old.marketplace:
        return Sameness.NO_MARKETPLACE
    if new.marketplace != old.marketplace:
        return Sameness.OTHER_MARKETPLACE
    if new.error_code and old.error_code:
        return Sameness.SAME if new.error_code == old.error_code else Sameness.OTHER_ERROR
    if new.error_code or old.error_code or not new.error_name or not old.error_name:
        return Sameness.NO_ERROR  # one gives a code, the other none: unsure
    return Sameness.SAME if new.error_name == old.error_name else Sameness.OTHER_ERROR


@dataclass(frozen=True)
class Match:
    """The open incident a T1 joins (None: it opens its own), and why."""

    incident_id: int | None
    reason: Sameness
    outage: Outage


def match(new: Outage, open_incidents: Iterable[tuple[int, Outage]]) -> Match:
    """The oldest open incident reporting the same outage; else none, with the reason of the closest miss (the one
    that agreed on most)."""
    best = Sameness.NO_OPEN_INCIDENT
    order = list(Sameness)
    for incident_id, outage in sorted(open_incidents, key=lambda pair: pair[0]):
        verdict = same(new, outage)
        if verdict == Sameness.SAME:
            return Match(incident_id, verdict, outage)
        if best == Sameness.NO_OPEN_INCIDENT or order.index(verdict) > order.index(best):
            best = verdict
    return Match(None, best, new)
