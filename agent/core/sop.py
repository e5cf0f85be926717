"""The vendor's emergency-support procedure (../shared/sop): tiers, windows, addresses.

Everything here is a default; config.ini can change each value.
"""

import enum
from datetime import timedelta


class Tier(enum.IntEnum):
    """A step of the escalation ladder."""

    T1 = 1  # primary: pages the support team
    T2 = 2  # management
    T3 = 3  # senior leadership

    @property
    def title(self) -> str:
        return {1: "primary", 2: "management", 3: "senior leadership"}[self.value]

    @property
    def label(self) -> str:
        return f"T{self.value}"


T1_ADDRESS = "amazon-agcod-partner-urgent@amazon.com"
T2_ADDRESS = "amazon-agcod-partner-urgent-t2@amazon.com"
T3_ADDRESS = "amazon-agcod-partner-urgent-t3@amazon.com"
# Where the vendor answers from (subdomains included): the domains its SOP names (the urgent line and T2/T3
# at amazon.com; the operations teams at amazon.co.uk, .de, .fr, .es, .it, .nl), then its marketplaces'
# country domains, where a support engineer or manager of that country may write from.
SOP_DOMAINS = ("amazon.com", "amazon.co.uk", "amazon.de", "amazon.fr", "amazon.es", "amazon.it", "amazon.nl")
MARKETPLACE_DOMAINS = (
    "amazon.ca",
    "amazon.com.mx",
    "amazon.com.br",
    "amazon.co.jp",
    "amazon.com.au",
    "amazon.sg",
    "amazon.ae",
    "amazon.sa",
    "amazon.com.tr",
    "amazon.in",
    "amazon.se",
    "amazon.pl",
    "amazon.com.be",
    "amazon.eg",
    "amazon.cn",
)
RESPONDER_DOMAINS = SOP_DOMAINS + MARKETPLACE_DOMAINS
T2_AFTER = timedelta(minutes=30)  # no response to T1 after 30 minutes
T3_AFTER = timedelta(minutes=30)  # no response 30 minutes after the T2 escalation

# A T1's Date header is trusted unless it disagrees with the server's INTERNALDATE by more than
# this: a sender clock far off would otherwise fire (or hold back) an escalation wrongly.
DATE_AHEAD_TOLERANCE = timedelta(minutes=15)
DATE_BEHIND_TOLERANCE = timedelta(hours=24)
