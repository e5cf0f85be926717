"""The pure parts of re-mapping a renumbered folder: a Message-ID from its header field alone, the split into known
and unknown mails, and the progress line of a long sync."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from agent.core.reading.folder import split_known
from agent.core.reading.header_cut import header_block
from agent.core.reading.mail import header_message_id, parse
from agent.engine import progress as progress_module
from agent.engine.lease import Alone
from agent.engine.progress import Progress
from agent.engine.service import Agent

CORPUS = Path(__file__).parent / "corpus"


def message_id_field(raw: bytes) -> bytes:
    """What `BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]` returns: the field, folded lines and all, then a blank line."""
    lines = re.split(rb"\r?\n", header_block(raw).rstrip(b"\r\n"))
    out, inside = [], False
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if inside:
                out.append(line)
            continue
        inside = line.lower().startswith(b"message-id:")
        if inside:
            out.append(line)
    return b"".join(x + b"\r\n" for x in out) + b"\r\n"


@pytest.mark.parametrize(
    "field, expected",
    [
        (b"Message-ID: <a@x.test>\r\n\r\n", "<a@x.test>"),
        (b"Message-Id:\r\n <folded@x.test>\r\n\r\n", "<folded@x.test>"),
        (b"MESSAGE-ID: <first@x.test>\r\nMessage-ID: <second@x.test>\r\n\r\n", "<first@x.test>"),
        (b"\r\n", None),  # no Message-ID: the server answers with the blank line alone
        (b"", None),
        (b"Message-ID: no-brackets@x.test\r\n\r\n", None),  # parse gives such a mail a synthetic id too
        (b"Message-ID: <=?utf-8?q?x?=@x.test>\r\n\r\n", None),
        (b"Message-ID: <\xff\xfe@x.test>\r\n\r\n", None),
    ],
)
def test_a_message_id_is_read_from_its_header_field_alone(field, expected):
    assert header_message_id(field) == expected


def test_the_header_field_gives_the_id_that_parse_gives_for_every_mail_of_the_corpus():
    mails = sorted(CORPUS.rglob("*.eml"))
    assert len(mails) > 10
    for path in mails:
        raw = path.read_bytes()
        from_field = header_message_id(message_id_field(raw))
        parsed = parse(raw, headers_only=True).message_id
        if from_field is None:
            assert parsed.endswith("@no-message-id.invalid>"), path
        else:
            assert from_field == parsed, path


def test_known_mails_are_re_mapped_and_the_rest_fetched_whole():
    plan = split_known([(7, "<a@x>"), (8, "<new@x>"), (9, None), (10, "<b@x>")], {"<a@x>", "<b@x>", "<old@x>"})
    assert plan.known == ((7, "<a@x>"), (10, "<b@x>"))
    assert plan.unknown == (8, 9)
    assert plan.without_id == frozenset({9})


def test_nothing_known_means_everything_is_fetched():
    plan = split_known([(1, None), (2, "<x@y>")], set())
    assert plan.known == () and plan.unknown == (1, 2) and plan.without_id == frozenset({1})


def test_a_progress_line_says_done_total_rate_and_time_left():
    from agent.core.reading.folder import progress_line

    assert progress_line("first sync INBOX", 34_000, 50_000, 100.0) == (
        "first sync INBOX: 34,000 / 50,000 mails, 340 a second, about 47 s left"
    )
    assert progress_line("re-map INBOX", 1_000, 50_000, 10.0) == (
        "re-map INBOX: 1,000 / 50,000 mails, 100 a second, about 8 min left"
    )
    assert progress_line("sync INBOX", 500, 500, 2.0) == "sync INBOX: 500 / 500 mails, 250 a second"
    assert progress_line("sync INBOX", 0, 500, 0.0) == "sync INBOX: 0 / 500 mails, 0 a second"


def test_progress_feeds_the_watchdog_every_chunk_and_speaks_every_few_seconds(monkeypatch, caplog):
    notified: list[str] = []
    monkeypatch.setattr(progress_module.systemd, "notify", lambda *states: notified.extend(states) or True)
    now = [100.0]
    ticks = []
    p = Progress("first sync INBOX", 2000, lambda: ticks.append(now[0]), every=5.0, clock=lambda: now[0])
    with caplog.at_level("INFO", logger="agent.service"):
        for done in (500, 1000, 1500, 2000):
            now[0] += 3.0
            p.advance(done)
    assert len(ticks) == 4  # the watchdog, after every chunk
    assert notified == [
        "STATUS=first sync INBOX: 1,000 / 2,000 mails, 167 a second, about 6 s left",
        "STATUS=first sync INBOX: 2,000 / 2,000 mails, 167 a second",
    ]
    assert [r.getMessage() for r in caplog.records] == [s.removeprefix("STATUS=") for s in notified]


def test_tick_is_what_the_sync_feeds_the_watchdog_with(monkeypatch):
    """`Agent.tick` pings at most every half WatchdogSec: the progress calls it after each chunk."""
    pings: list[str] = []
    monkeypatch.setattr("agent.engine.service.systemd.notify", lambda *s: pings.extend(s) or True)
    agent = Agent.__new__(Agent)
    agent.ping_every, agent._next_ping = 0.0001, 0.0
    agent.standby = SimpleNamespace(lease=Alone())  # no [ha]: tick refreshes no lease
    Progress("x", 10, agent.tick).advance(5)
    assert pings == ["WATCHDOG=1"]
