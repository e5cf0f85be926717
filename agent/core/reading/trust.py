"""Whether a sender's domain may be believed: DMARC or aligned DKIM, as the trusted receiving server saw it.

Anyone can write `From: ceo@vendor.test`. When `trusted_authserv_id` is set, a mail's sender counts as
internal or as the vendor only if the Authentication-Results header that *our* server added (the
topmost one carrying its authserv-id; RFC 8601 has receiving servers strip look-alikes) says DMARC
passed for that From domain, or DKIM passed with a signing domain aligned to it.
"""

import email.parser
import email.policy
from dataclasses import dataclass

import authres

from agent.core.reading.header_cut import header_block
from agent.core.reading.mail import Reading, domain_of


@dataclass(frozen=True)
class Verdict:
    trusted: bool
    reason: str


def authentication_results(raw: bytes | Reading) -> tuple[str, ...]:
    """Every Authentication-Results header, topmost first (the receiving server adds at the top), read from the
    header block as cut to the mail limits, like every other parser's input (a `Reading`'s: cut once)."""
    head = header_block((raw if isinstance(raw, Reading) else Reading(raw)).head_bounded())
    parsed = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
    return tuple(str(v) for v in parsed.get_all("Authentication-Results") or ())


def aligned(signing_domain: str, from_domain: str) -> bool:
    """Relaxed alignment: the same domain or a parent of it (never a bare top-level domain)."""
    d = signing_domain.lower().strip(".")
    return "." in d and (from_domain == d or from_domain.endswith("." + d))


def verify_sender(auth_results: tuple[str, ...], sender: str, authserv_id: str | None) -> Verdict:
    if not authserv_id:
        return Verdict(True, "sender authentication not required (no trusted_authserv_id)")
    domain = domain_of(sender)
    for value in auth_results:
        try:
            header = authres.AuthenticationResultsHeader.parse_value(" ".join(value.split()))
        except Exception:  # authres raises its own SyntaxError and others on junk: junk proves nothing
            continue
        if (header.authserv_id or "").lower() != authserv_id.lower():
            continue
        for result in header.results:
            props = {(p.type, p.name): (p.value or "").lower() for p in result.properties}
            if result.method == "dmarc" and result.result == "pass" and props.get(("header", "from"), domain) == domain:
                return Verdict(True, f"dmarc=pass for {domain} ({authserv_id})")
            signer = props.get(("header", "d")) or props.get(("header", "i"), "").rpartition("@")[2]
            if result.method == "dkim" and result.result == "pass" and aligned(signer, domain):
                return Verdict(True, f"dkim=pass, d={signer} aligned with {domain} ({authserv_id})")
        return Verdict(False, f"no passing DMARC or aligned DKIM for {domain or 'no sender'} from {authserv_id}")
    return Verdict(False, f"no Authentication-Results from {authserv_id}")
