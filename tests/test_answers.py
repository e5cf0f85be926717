"""What engineers read: the answers to their commands and `status`, on their exact words (unit: literal values)."""

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default

from agent.cli.report import status_table
from agent.core.story import history
from agent.core.times import iso
from agent.core.writing import notices
from agent.core.writing.compose import Answered, Original, notice
from support import OFFLINE_CONFIG, agent_command

T0 = datetime(2026, 11, 25, 11, 15, 6, tzinfo=UTC)
T1 = Original(
    message_id="<t1@partner.test>",
    subject="AGCOD CreateGiftCard F500 since 11:02 GMT",
    sender="alice@partner.test",
    recipients=("urgent@vendor.test", "watch@partner.test"),
    references=(),
    sent_at=T0,
    text="Partner id: Acme01\n",
    raw=b"Subject: x\r\n\r\nx\r\n",
)
EVENTS = [
    (T0, "incident_opened", "T1 <t1@partner.test> from alice@partner.test, sent 11:15:06 GMT (from its Date): x"),
    (T0, "notice_decided", "notice 'watching' to alice@partner.test"),
    (T0, "decision", "T2 due 11:45:06 GMT"),
    (T0 + timedelta(minutes=30), "escalation_decided", "T2 to t2@vendor.test, Message-ID <e@partner.test>"),
    (
        T0 + timedelta(minutes=30),
        "sent",
        "T2 <e@partner.test> accepted by 127.0.0.1:25 at 11:45:07 GMT on Wed 25 Nov 2026 (attempt 1)",
    ),
    (T0 + timedelta(minutes=30), "confirmed", "T2 <e@partner.test> seen in the watched mailbox"),
    (
        T0 + timedelta(minutes=31),
        "command",
        "#hold 30m (vendor phoned, they are on it and will call back) from " + "bob@partner.test " * 8,
    ),
]


def test_status_lists_what_people_and_the_vendor_did_not_the_agents_machinery():
    lines = history.recent(EVENTS)
    assert lines[:2] == (
        "11:15:06 GMT on Wed 25 Nov 2026: T1 seen from alice@partner.test",
        "11:45:06 GMT on Wed 25 Nov 2026: T2 sent to the vendor",
    )
    assert len(lines) == 3 and not any(w in " ".join(lines) for w in ("decision", "confirmed", "escalation_decided"))


def test_a_long_event_is_cut_at_a_word_never_inside_one():
    [*_, long] = history.recent(EVENTS)
    assert len(long) <= 160 and long.endswith(" …")
    assert long[: -len(" …")].split()[-1] in ("bob@partner.test", "from", "back)")


def test_the_answer_to_a_command_replies_to_it_and_quotes_it_as_your_mail_not_the_t1():
    cmd = Answered("<cmd@partner.test>", "bob@partner.test", "Re: " + T1.subject, T0 + timedelta(minutes=40), "#status")
    subject, body = notices.command_reply("status", "The incident is awaiting the vendor's response.")
    msg = notice(
        T1,
        subject,
        body,
        to=("bob@partner.test",),
        cc=("watch@partner.test",),
        from_address="agent@partner.test",
        message_id="<a@partner.test>",
        now=T0 + timedelta(minutes=41),
        answering=cmd,
    )
    parsed = message_from_bytes(msg.as_bytes(), policy=default)
    text = parsed.get_body(("plain",)).get_content()
    assert parsed["In-Reply-To"] == "<cmd@partner.test>"
    assert parsed["References"].split() == ["<t1@partner.test>", "<cmd@partner.test>"]
    mine, t1 = text.split("Your mail:")[1].split("The incident's T1:")
    assert "bob@partner.test" in mine and "#status" in mine and "alice@partner.test" not in mine
    assert "alice@partner.test" in t1


def test_status_says_until_when_a_hold_lasts_as_a_time_and_how_long_that_is():
    now = T0
    row = dict(
        id=2,
        state="awaiting_response",
        tier=1,
        subject="API down",
        next_deadline=iso(now + timedelta(minutes=9, seconds=55)),
        next_tier="T2",
        hold_until=iso(now + timedelta(minutes=9, seconds=55)),
    )
    line = status_table([row], now).splitlines()[1]
    assert "T2 on hold until 11:25 GMT (in 9m 55s)" in line and "until in" not in line


def test_the_cli_hold_says_what_is_wrong_in_the_cli_s_own_syntax(tmp_path):
    config = tmp_path / "config.ini"
    config.write_text(OFFLINE_CONFIG + f"\n[agent]\ndatabase = {tmp_path / 'state.db'}\n")
    wrong = agent_command(config, "hold", "2", "30x")
    assert wrong.returncode == 1
    assert (
        wrong.stderr.strip() == "Error: DURATION '30x' is not a duration: give e.g. 30m or 2h, at most 24h (hold 2 30m)"
    )
    assert "#hold" not in wrong.stderr
