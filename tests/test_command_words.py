"""Reading a mail command from the first line of the sender's own new text (unit: literal mail bodies)."""

from datetime import timedelta

import pytest

from agent.core.deciding.mail_commands import Command, Malformed, Verb, read_command

OUTLOOK_TOP_POSTED = """#hold 2h vendor called, they are on it

Bob Example | On-call engineer | +1 555 0100

________________________________
From: Alice Engineer <alice@partner.test>
Sent: Wednesday, November 25, 2026 11:15 AM
To: urgent@vendor.test
Cc: watch@partner.test
Subject: Incentives API: all requests fail with F500

#escalate (this line is quoted and must not count)
"""
GMAIL = """#STOP rollback fixed it

On Wed, 25 Nov 2026 at 11:15, Alice Engineer <alice@partner.test> wrote:
> Partner ID: Acmes
"""
IPHONE = """#escalate no answer and the outage is spreading

Sent from my iPhone

> On 25 Nov 2026, at 11:15, Alice Engineer <alice@partner.test> wrote:
>
> Partner ID: Acmes
"""
BOTTOM_POSTED = """> Partner ID: Acmes
> Marketplace: US

#resume it is failing again
"""


@pytest.mark.parametrize(
    "body, expected",
    [
        (OUTLOOK_TOP_POSTED, Command(Verb.HOLD, "vendor called, they are on it", timedelta(hours=2))),
        (GMAIL, Command(Verb.STOP, "rollback fixed it")),
        (IPHONE, Command(Verb.ESCALATE, "no answer and the outage is spreading")),
        (BOTTOM_POSTED, Command(Verb.RESUME, "it is failing again")),
        ("#resolved\n", Command(Verb.STOP)),
        ("\n\n   #Status   \n", Command(Verb.STATUS)),
        ("#hold 30m\n", Command(Verb.HOLD, "", timedelta(minutes=30))),
        ("#hold 90 waiting for a callback", Command(Verb.HOLD, "waiting for a callback", timedelta(seconds=90))),
    ],
)
def test_the_first_line_of_new_text_is_the_command(body, expected):
    assert read_command(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "Any update? #stop\n",  # not the first thing on the line
        "Thanks all.\n#stop\n",  # not the first line
        "#123 is the vendor's ticket\n",  # a number, not a word
        "On Wed, 25 Nov 2026 at 11:15, Alice <alice@partner.test> wrote:\n> #stop\n",  # only quoted
        "-- \n#stop\n",  # only in the signature
        "",
    ],
)
def test_anything_else_is_no_command(body):
    assert read_command(body) is None


@pytest.mark.parametrize(
    "body, why",
    [
        ("#stopp now", "#stopp is not a command"),
        ("#hold until the vendor calls", "#hold needs a duration first: 'until' is not a duration"),
        ("#hold 0m", "#hold needs a duration first: '0m' is not a duration"),
        ("#hold 2d", "#hold needs a duration first: 2d is longer than 24h"),
    ],
)
def test_a_command_that_is_wrong_says_why(body, why):
    found = read_command(body)
    assert isinstance(found, Malformed) and why in found.why
