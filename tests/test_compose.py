import email
import email.policy
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from agent.core.procedure.items import ITEM, ITEMS
from agent.core.procedure.policy import Status
from agent.core.sop import Tier
from agent.core.writing import notices, page
from agent.core.writing.compose import POLICY, Original, Step, escalation_cc, notice
from agent.core.writing.escalation import escalation, sop_rows

T0 = datetime(2026, 11, 25, 11, 15, tzinfo=UTC)
RAW = (
    b"From: Alice <alice@partner.test>\r\nTo: urgent@vendor.test\r\nCc: watch@partner.test, bob@partner.test,"
    b" someone@vendor.test\r\nSubject: API down\r\nMessage-ID: <t1@partner.test>\r\n"
    b"Date: Wed, 25 Nov 2026 11:15:00 +0000\r\n\r\nAll requests fail with F500.\r\n"
)
ORIGINAL = Original(
    "<t1@partner.test>",
    "API down\r\nBcc: evil@x",
    "alice@partner.test",
    ("urgent@vendor.test", "watch@partner.test", "bob@partner.test", "someone@vendor.test"),
    ("<earlier@partner.test>",),
    T0,
    "All requests fail with F500.\n",
    RAW,
)


def reparse(msg):
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def t2(now=T0 + timedelta(minutes=30, seconds=2)):
    cc = escalation_cc(ORIGINAL, ("partner.test",), "watch@partner.test", exclude=("t2@vendor.test",))
    return escalation(
        ORIGINAL,
        Tier.T2,
        (Step(Tier.T1, "urgent@vendor.test", T0, ORIGINAL.message_id),),
        timedelta(minutes=30),
        to="t2@vendor.test",
        cc=cc,
        from_address="agent@partner.test",
        message_id="<esc-t2@partner.test>",
        now=now,
    )


def test_cc_is_the_sender_the_internal_recipients_and_the_watched_mailbox():
    assert escalation_cc(ORIGINAL, ("partner.test",), "watch@partner.test") == (
        "alice@partner.test",
        "watch@partner.test",
        "bob@partner.test",
    )


def test_the_t2_mail_is_addressed_threaded_and_marked_automatic():
    msg = reparse(t2())
    assert msg["To"] == "t2@vendor.test"
    assert msg["Cc"] == "alice@partner.test, watch@partner.test, bob@partner.test"
    assert msg["Message-ID"] == "<esc-t2@partner.test>"
    assert msg["In-Reply-To"] == "<t1@partner.test>"
    assert msg["References"] == "<earlier@partner.test> <t1@partner.test>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Subject"] == "[T2 escalation] API down  Bcc: evil@x"  # the CR/LF could not inject a header
    assert msg["Bcc"] is None


def test_the_body_says_what_happened_in_gmt_and_quotes_the_original():
    body = reparse(t2()).get_body(("plain",)).get_content()
    assert "T1 sent 11:15:00 GMT on Wed 25 Nov 2026 to urgent@vendor.test by alice@partner.test." in body
    assert "No response in 30 minutes." in body
    assert "Escalating to T2 (management) at 11:45:02 GMT" in body
    assert "> All requests fail with F500." in body


def test_the_original_is_attached_as_message_rfc822():
    parts = [p for p in reparse(t2()).iter_attachments()]
    assert [p.get_content_type() for p in parts] == ["message/rfc822"]
    inner = parts[0].get_content()
    assert inner["Message-ID"] == "<t1@partner.test>"


def test_the_t3_mail_tells_both_earlier_steps_and_replies_to_the_t2():
    steps = (
        Step(Tier.T1, "urgent@vendor.test", T0, "<t1@partner.test>"),
        Step(Tier.T2, "t2@vendor.test", T0 + timedelta(minutes=31), "<esc-t2@partner.test>"),
    )
    msg = reparse(
        escalation(
            ORIGINAL,
            Tier.T3,
            steps,
            timedelta(minutes=30),
            to="t3@vendor.test",
            cc=(),
            from_address="agent@partner.test",
            message_id="<esc-t3@partner.test>",
            now=T0 + timedelta(minutes=61),
        )
    )
    body = msg.get_body(("plain",)).get_content()
    assert "T2 sent 11:46:00 GMT on Wed 25 Nov 2026 to t2@vendor.test." in body
    assert "No response in 30 minutes after the T2 escalation." in body
    assert msg["In-Reply-To"] == "<esc-t2@partner.test>"
    assert msg["References"].split() == ["<earlier@partner.test>", "<t1@partner.test>", "<esc-t2@partner.test>"]


# -- both parts: the text for a proportional font, the HTML safe for any mail client ------------------------------
HOSTILE_T1 = Original(
    "<t1@partner.test>",
    '<img src="https://evil.test/p.png"> API down',
    "alice@partner.test",
    ("urgent@vendor.test",),
    (),
    T0,
    '<script>alert("t1")</script>\n<a href="http://evil.test/">click</a> & <b>bold</b>\n',
    RAW,
    items=(
        ("Contact phone number", "+1-555-0100"),
        ("Contact email", 'alice@partner.test"><link rel=stylesheet href=https://evil.test/x.css>'),
        ("Brief problem description", '<b>all</b> calls fail <script>alert("x")</script> & <style>p{}</style>'),
        ("Partner ID", "Acmes"),
        ("Marketplace", "US"),
    ),
)
ALLOWED_TAGS = {"html", "head", "meta", "title", "body", "table", "tr", "th", "td", "h1", "h2", "p", "strong", "ul"}
ALLOWED_TAGS |= {"li", "blockquote", "br"}


class Markup(HTMLParser):
    """The tags, attributes, text and table rows of an HTML part (nested tables: a cell is its innermost one)."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.data: list[str] = []
        self.rows: list[list[tuple[str, str]]] = []
        self._rows: list[list[tuple[str, str]]] = []
        self._cells: list[tuple[str, list[str]]] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs
        if tag == "tr":
            self._rows.append([])
        elif tag in ("td", "th"):
            self._cells.append((tag, []))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cells:
            kind, text = self._cells.pop()
            self._rows[-1].append((kind, " ".join("".join(text).split())))
        elif tag == "tr" and self._rows:
            self.rows.append(self._rows.pop())

    def handle_data(self, data):
        self.data.append(data)
        if self._cells:
            self._cells[-1][1].append(data)

    @property
    def text(self) -> str:
        return "".join(self.data)

    def table(self) -> list[tuple[str, str]]:
        """The label/value rows of the bordered tables: (th, td) pairs."""
        return [(r[0][1], r[1][1]) for r in self.rows if [k for k, _ in r] == ["th", "td"]]


def words(text: str) -> str:
    return " ".join(text.replace(":", " ").split())


def parts(msg):
    back = email.message_from_bytes(msg.as_bytes(), policy=POLICY)
    return back, back.get_body(("plain",)).get_content(), back.get_body(("html",)).get_content()


def hostile_t2():
    return escalation(
        HOSTILE_T1,
        Tier.T2,
        (Step(Tier.T1, "urgent@vendor.test", T0, HOSTILE_T1.message_id),),
        timedelta(minutes=30),
        to="t2@vendor.test",
        cc=("alice@partner.test",),
        from_address="agent@partner.test",
        message_id="<esc-t2@partner.test>",
        now=T0 + timedelta(minutes=30),
    )


def notice_mails():
    """One mail of each notice kind, as compose.notice writes them."""
    steps = (
        Step(Tier.T1, "urgent@vendor.test", T0, "<t1@partner.test>"),
        Step(Tier.T2, "t2@vendor.test", T0 + timedelta(minutes=30), "<t2@partner.test>", Status.SENT),
        Step(Tier.T3, "t3@vendor.test", T0 + timedelta(minutes=60), "<t3@partner.test>", Status.MANUAL),
    )
    texts = {
        "missing_items": notices.missing_items([ITEM["request_id"], ITEM["marketplace"]], "urgent@vendor.test"),
        "misrouted": notices.misrouted("contract", "UK", "ops-uk@vendor.test", ()),
        "misrouted_all": notices.misrouted(
            "Insufficient Funds",
            None,
            None,
            (("UK", "ops-eu@vendor.test"), ("TR", "ops-eu@vendor.test"), ("US", "us@v")),
        ),
        "t1_bounced": notices.t1_bounced(("urgent@vendor.test",), "550 5.1.1 <urgent@vendor.test>: User unknown"),
        "t2_bounced": notices.escalation_bounced(Tier.T2, "t2@vendor.test", "552 mailbox full"),
        "rejected_t2": notices.rejected(Tier.T2, "t2@vendor.test", "(550, b'5.7.1 relaying denied')"),
        "exhausted": notices.exhausted(steps, "30 minutes"),
    }
    return {
        kind: notice(
            ORIGINAL,
            subject,
            body,
            to=("alice@partner.test",),
            cc=("watch@partner.test",),
            from_address="agent@partner.test",
            message_id=f"<{kind}@partner.test>",
            now=T0,
        )
        for kind, (subject, body) in texts.items()
    }


def test_every_mail_is_text_then_html_and_an_escalation_carries_the_t1():
    back, _, _ = parts(t2())
    assert back.get_content_type() == "multipart/mixed"
    alternative, attached = back.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html"]
    assert attached.get_content_type() == "message/rfc822"
    for msg in notice_mails().values():
        back = email.message_from_bytes(msg.as_bytes(), policy=POLICY)
        assert back.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in back.get_payload()] == ["text/plain", "text/html"]
        assert back["Auto-Submitted"] == "auto-generated" and back["X-Auto-Response-Suppress"] == "All"
        assert back["In-Reply-To"] == "<t1@partner.test>"
        back.as_bytes(policy=POLICY.clone(linesep="\r\n"))  # as smtplib sends the stored mail


def test_the_plain_part_has_label_value_lines_and_nothing_aligned_with_spaces():
    _, plain, _ = parts(hostile_t2())
    lines = plain.splitlines()
    assert "Partner ID: Acmes" in lines and "Marketplace: US" in lines
    assert "Example request ID: MISSING (required by the procedure)" in lines
    assert "Is the behavior consistent? MISSING (required by the procedure)" in lines
    assert "Message-ID: <t1@partner.test>" in lines and "From: alice@partner.test" in lines
    assert "- T1 sent 11:15:00 GMT on Wed 25 Nov 2026 to urgent@vendor.test by alice@partner.test." in lines
    for msg in [t2(), hostile_t2(), *notice_mails().values()]:
        _, plain, _ = parts(msg)
        assert not [line for line in plain.splitlines() if "  " in line and not line.startswith(">")], plain


def test_every_sop_item_is_a_table_cell_in_the_sops_order_and_a_missing_one_is_marked():
    _, _, markup = parts(hostile_t2())
    rows = Markup(markup).table()
    required = [i.label for i in ITEMS if i.required and not i.physical_only]
    assert [label for label, _ in rows] == required
    values = dict(rows)
    assert values["Partner ID"] == "Acmes" and values["Contact phone number"] == "+1-555-0100"
    assert values["Example request ID"] == "MISSING (required by the procedure)"
    assert '<strong style="color:#d93025">MISSING</strong>' in markup
    given = {label for label, _ in HOSTILE_T1.items}
    assert {label for label, v in rows if v.startswith("MISSING")} == set(required) - given


def test_the_card_number_is_asked_for_only_when_the_t1_is_about_physical_cards():
    physical = replace(HOSTILE_T1, text="We cannot activate physical gift cards since 11:15 GMT.\n")
    assert ("Example card/serial number", None) in sop_rows(physical)
    assert "Example card/serial number" not in dict(sop_rows(HOSTILE_T1))


def test_text_from_the_t1_is_escaped_never_markup():
    _, _, markup = parts(hostile_t2())
    parsed = Markup(markup)
    assert set(parsed.tags) <= ALLOWED_TAGS, set(parsed.tags) - ALLOWED_TAGS
    assert '<b>all</b> calls fail <script>alert("x")</script> & <style>p{}</style>' in parsed.text
    assert '<script>alert("t1")</script>' in parsed.text and '<a href="http://evil.test/">click</a>' in parsed.text
    assert '<img src="https://evil.test/p.png"> API down' in parsed.text
    assert "&lt;script&gt;" in markup and "<script" not in markup and "<b>" not in markup


def test_the_html_fetches_nothing_and_styles_only_inline():
    for msg in [t2(), hostile_t2(), *notice_mails().values()]:
        _, _, markup = parts(msg)
        parsed = Markup(markup)
        names = {name for name, _ in parsed.attrs}
        assert not names & {"src", "href", "srcset", "background", "bgcolor", "class", "id"}, names
        assert not {"script", "link", "style", "img", "iframe", "object", "svg", "form"} & set(parsed.tags)
        styles = ";".join(v or "" for name, v in parsed.attrs if name == "style")
        assert "url(" not in styles and "@import" not in styles and "expression" not in styles
        assert "background" not in styles  # no fixed colour behind the client's text: dark mode reads it
        assert not re.search(r"display:\s*(flex|grid)", styles)
        assert all(t == "#d93025" for t in re.findall(r"(?<![-\w])color:\s*([^;\"]+)", styles))  # the mark alone
        assert re.search(r'<table[^>]* width="640"', markup) and "max-width:640px" in markup  # Outlook's width


def test_each_notice_says_what_it_said_in_both_parts():
    mails = {kind: parts(msg) for kind, msg in notice_mails().items()}
    phrases = {
        "missing_items": ["Example request ID (for example: Acmes3324500H2)", "to urgent@vendor.test"],
        "misrouted": ["will not escalate", "the operations team for UK: ops-uk@vendor.test"],
        "misrouted_all": ["will not escalate", "UK/TR: ops-eu@vendor.test", "US: us@v"],
        "t1_bounced": ["has NOT been paged", "User unknown", "still escalates on schedule"],
        "t2_bounced": ["escalation to t2@vendor.test bounced", "> 552 mailbox full", "escalate by hand"],
        "rejected_t2": ["rejected by the mail server", "550", "write to t2@vendor.test"],
        "exhausted": ["Every tier", "- T3 sent 12:15:00 GMT on Wed 25 Nov 2026 to t3@vendor.test (by hand)"],
    }
    for kind, (_, plain, markup) in mails.items():
        for phrase in phrases[kind]:
            assert phrase in plain, (kind, phrase, plain)
        assert "Your mail:\nFrom: alice@partner.test\nSent: 11:15:00 GMT on Wed 25 Nov 2026\n" in plain
        assert plain.endswith("\n-- \nescalation-agent, watching this mailbox for the urgent-support procedure\n")
        shown = words(" ".join(Markup(markup).data))  # as a reader sees it: a table cell, a list item, a quote
        for phrase in phrases[kind]:
            assert words(phrase.removeprefix("- ").removeprefix("> ")) in shown, (kind, phrase, shown)
    assert ("UK/TR", "ops-eu@vendor.test") in Markup(mails["misrouted_all"][2]).table()
    assert "<blockquote" in mails["t1_bounced"][2] and "<li " in mails["exhausted"][2]


def test_a_notice_shapes_untrusted_words_as_text_only():
    subject, body = notices.t1_bounced(("x@vendor.test\n\n- y",), "<script>x</script>\n\n- not a list\tnor a table")
    assert page.blocks(body)[1] == page.Quote(lines=("<script>x</script> - not a list nor a table",))
    assert page.blocks(body)[0] == page.Para("Your T1 did not reach x@vendor.test - y. The mail server answered:")
    msg = notice(
        ORIGINAL,
        subject,
        body,
        to=("a@partner.test",),
        cc=(),
        from_address="a@partner.test",
        message_id="<n@p>",
        now=T0,
    )
    _, _, markup = parts(msg)
    assert "<script" not in markup and "&lt;script&gt;x&lt;/script&gt;" in markup


def test_pages_read_the_blocks_notices_write():
    source = "A paragraph\nover two lines.\n\n- one\n- two\n\n> the server\n\nUK/TR\tops@x\nUS\tus@x"
    assert page.blocks(source) == (
        page.Para("A paragraph over two lines."),
        page.Bullets(("one", "two")),
        page.Quote(lines=("the server",)),
        page.Table((("UK/TR", "ops@x"), ("US", "us@x"))),
    )
    text = page.text(page.Page("t", page.blocks(source), "sig"))
    assert text == "A paragraph over two lines.\n\n- one\n- two\n\n> the server\n\nUK/TR: ops@x\nUS: us@x\n\n-- \nsig\n"


def test_a_receipt_is_said_in_both_parts_naming_the_mail_it_acknowledged():
    acknowledged = replace(ORIGINAL, acknowledged_at=T0 + timedelta(minutes=1, seconds=2))
    steps = (Step(Tier.T1, "urgent@vendor.test", T0, ORIGINAL.message_id),)
    msg = escalation(
        acknowledged, Tier.T2, steps, timedelta(minutes=30), to="t2@vendor.test", cc=(),
        from_address="agent@partner.test", message_id="<esc-t2@partner.test>", now=T0 + timedelta(minutes=30),
    )  # fmt: skip
    _, plain, html = parts(msg)
    said = "The vendor's system acknowledged the T1 at 11:16:02 GMT on Wed 25 Nov 2026; no person has answered."
    assert said in plain
    assert said.replace("'", "&#x27;") in html or said in html
    assert said not in parts(t2())[1]  # no receipt, nothing said
    later = replace(ORIGINAL, acknowledged_at=T0 + timedelta(minutes=31))  # the T2's own receipt, before the T3
    steps += (Step(Tier.T2, "t2@vendor.test", T0 + timedelta(minutes=30, seconds=50), "<esc-t2@partner.test>"),)
    msg = escalation(
        later, Tier.T3, steps, timedelta(minutes=30), to="t3@vendor.test", cc=(),
        from_address="agent@partner.test", message_id="<esc-t3@partner.test>", now=T0 + timedelta(minutes=61),
    )  # fmt: skip
    assert "The vendor's system acknowledged the T2 at 11:46:00 GMT" in parts(msg)[1]
