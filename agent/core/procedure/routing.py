"""Where a T1 belongs: its marketplace, that marketplace's operations team, and whether the urgent line is the
place for it at all (the SOP sends contract and Insufficient Funds errors to the operations team). Pure."""

import re

from agent.core.procedure.items import negated, own_lines

OPERATIONS_TEAMS = {  # the SOP's "contact your local Operations team" table
    **dict.fromkeys(("US", "CA", "MX"), "corp-gc-salesops@amazon.com"),
    "AU": "amazonaucorpgc@amazon.com",
    "JP": "jp-gc-salesops@amazon.com",
    "CN": "cn-gc-salesops@amazon.com",
    **dict.fromkeys(("UK", "TR"), "corporate-gifts@amazon.co.uk"),
    **dict.fromkeys(("UAE", "KSA"), "mena-gc-ops@amazon.com"),
    "DE": "gutscheine-grosskunden@amazon.de",
    "FR": "cheques-cadeaux-entreprises@amazon.fr",
    "ES": "cheques-regalo-empresas@amazon.es",
    "IT": "buoni-regalo-imprese@amazon.it",
    "NL": "amazon-incentives-nl@amazon.nl",
    "SG": "corporate-gc-sg@amazon.com",
}
non_urgent_address = "incentives-api@amazon.com"  # planned outages and other non-urgent questions

# Country names and Amazon domains count anywhere. Codes count in the marketplace item, but in prose only in upper
# case next to "marketplace"/"store"/"[..]" ("IT team", "CA certificate" and "let US know" are no markets).
# "Turkey", "Emirates", "England" alone count only in the item: a bird, an airline, half a marketplace.
_MARKETS = {  # key: (names anywhere, names only in the marketplace item, codes, domain)
    "US": ("united states|usa", "america|united states of america", "us|usa", "amazon.com"),
    "CA": ("canada", "", "ca", "amazon.ca"),
    "MX": ("mexico|méxico", "", "mx", "amazon.com.mx"),
    "AU": ("australia", "", "au", "amazon.com.au"),
    "JP": ("japan|日本", "", "jp", "amazon.co.jp"),
    "CN": ("china|中国", "", "cn", "amazon.cn"),
    "UK": ("united kingdom|great britain", "britain|england", "uk|gb", "amazon.co.uk"),
    "TR": ("türkiye|turkiye", "turkey", "tr", "amazon.com.tr"),
    "UAE": ("united arab emirates|uae", "emirates|dubai", "uae|ae", "amazon.ae"),
    "KSA": ("saudi arabia|ksa", "saudi|kingdom of saudi arabia", "ksa|sa", "amazon.sa"),
    "DE": ("germany|deutschland", "", "de", "amazon.de"),
    "FR": ("france", "", "fr", "amazon.fr"),
    "ES": ("spain|españa", "espana", "es", "amazon.es"),
    "IT": ("italy|italia", "", "it", "amazon.it"),
    "NL": ("netherlands|holland", "", "nl", "amazon.nl"),
    "SG": ("singapore", "", "sg", "amazon.sg"),
}
_CODE_KEY = {c.upper(): k for k, (_, _, codes, _) in _MARKETS.items() for c in codes.split("|")}
_CODES = "|".join(sorted(_CODE_KEY, key=len, reverse=True))
_IN_CONTEXT = re.compile(
    rf"\b({_CODES})\s+(?i:marketplace|market|store|region)\b|"
    rf"(?i:\bmarketplace|\bmarket|\bregion)\s*[:=-]?\s*({_CODES})\b|\[({_CODES})\]"
)


def _term_rx(item: bool) -> tuple[re.Pattern[str], dict[str, str]]:
    terms: dict[str, str] = {}
    for key, (names, item_names, codes, domain) in _MARKETS.items():
        more = (item_names.split("|") + codes.split("|") if item else []) + [domain] * (item or domain != "amazon.com")
        terms |= {t: key for t in names.split("|") + more if t}  # "Amazon.com" in prose is the company
    alternatives = "|".join(map(re.escape, sorted(terms, key=len, reverse=True)))
    # Not after "@" or "." (corp-gc-salesops@amazon.com, co.uk), not before ".xx" (amazon.com.au).
    return re.compile(rf"(?<![\w@.-])({alternatives})(?![\w-]|\.\w)", re.I), terms


_TERMS = {item: _term_rx(item) for item in (True, False)}


def _mentions(s: str, item: bool) -> set[str]:
    rx, terms = _TERMS[item]
    found = {terms[m.group(1).lower()] for m in rx.finditer(s)}
    return found if item else found | {_CODE_KEY[next(g for g in m.groups() if g)] for m in _IN_CONTEXT.finditer(s)}


def marketplace(items: dict[str, str], text: str, subject: str) -> str | None:
    """The operations-team key (OPERATIONS_TEAMS) of the mail's marketplace; None when unknown or ambiguous."""
    value = items.get("marketplace", "")
    short = re.sub(r"\b(marketplace|market|store)\b|\bamazon\b(?!\.)", " ", value, flags=re.I)
    for found in (
        _mentions(short, True) if len(short) <= 40 else set(),
        _mentions(value, False),
        _mentions(subject or "", False),
        _mentions(own_lines(text, False), False),
        _mentions(own_lines(text, True), False),
    ):
        if len(found) == 1:
            return found.pop()
    return None


# "Insufficient Funds" is only ever the error. "contract" counts only as an error's text: a CamelCase error name
# ("NoActiveContract"), a contract in a failed state ("contract has expired", "no active contract", "invalid
# contract"), or within four words after an error word in the same sentence ("F400 error: contract ...", "the
# response says our contract ..."). So "our contract phone number" and "our contract engineer saw F500 errors" are
# no misroutes. Quoted older mails do not count (a forward's forwarded part does), nor do negated mentions.
_MISROUTES = (
    ("Insufficient Funds", re.compile(r"insufficient[\s_-]*funds?|残高不足|資金不足|资金不足|余额不足", re.I)),
    (
        "contract",
        re.compile(
            r"\b[A-Z]\w*Contract\w*|\bContract[A-Z]\w*|"
            r"(?i:\b(no|invalid|expired|inactive|missing|unknown|suspended|terminated)\s+(active\s+)?contracts?\b|"
            r"\bcontracts?\s+(has\s+|have\s+|is\s+|was\s+)?(expired|ended|terminated|suspended|invalid|inactive|missing|"
            r"not\s+(found|active|valid)|does\s+not\s+exist|error|related\s+error)|"
            r"\b(errors?|response|message|code|returned|returns|reason|says|F\d{3})\b[^\w.!?\n]{0,4}"
            r"(\w+[^\w.!?\n]{1,4}){0,4}\w*contract)|契約.{0,6}(切れ|期限|無効|終了|エラー)|合同.{0,4}(过期|到期|无效|错误|失效)"
        ),
    ),
)


def misroute(text: str, subject: str) -> str | None:
    """ "Insufficient Funds" or "contract" when that error is the mail's problem: it is not for the urgent line."""
    forward = bool(re.match(r"\s*(fwd?|wg|tr)\s*:", subject or "", re.I))
    body = (subject or "") + "\n" + own_lines(text, forward)
    hits = [(m.start(), name) for name, rx in _MISROUTES for m in rx.finditer(body) if not negated(body, m.start())]
    return min(hits)[1] if hits else None
