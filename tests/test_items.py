import email
import email.policy
import importlib.util
import re
from pathlib import Path

import pytest

from agent.core.procedure.items import ITEMS, extract, html_lines, is_physical, missing
from agent.core.procedure.routing import OPERATIONS_TEAMS, marketplace, misroute, non_urgent_address
from agent.core.reading.mail import parse

CORPUS = Path(__file__).resolve().parent / "corpus"
REQUIRED = [i.key for i in ITEMS if i.required and not i.physical_only]


def mail(name: str):
    return parse((CORPUS / name).read_bytes())


# --- the SOP's items as data ---------------------------------------------------------------------------------------


def test_items_follow_the_sop_table_in_order_with_its_examples():
    assert [i.key for i in ITEMS] == [
        "phone",
        "email",
        "name",
        "problem",
        "partner_id",
        "request_id",
        "card",
        "error",
        "marketplace",
        "timestamp",
        "first_failure",
        "consistent",
        "changes",
        "raw_request",
    ]
    examples = {i.key: i.example for i in ITEMS}
    assert examples["phone"] == "+81-3-3123-4567"
    assert examples["email"] == "yourname@alias.com"
    assert examples["partner_id"] == "Acmes"
    assert examples["request_id"] == "Acmes3324500H2"
    assert examples["card"] == "1400000005567580"
    assert examples["error"] == "'F500' GeneralError"
    assert examples["marketplace"] == "US"
    assert examples["timestamp"] == "11:32:06 GMT"
    assert examples["first_failure"] == "11:15:06 GMT"
    assert examples["problem"].startswith("Beginning at approximately 11:15 GMT all requests are failing with an F500")
    assert [i.key for i in ITEMS if not i.required] == ["raw_request"]
    assert [i.key for i in ITEMS if i.physical_only] == ["card"]


def test_operations_teams_are_the_sop_country_table():
    assert OPERATIONS_TEAMS == {
        "US": "corp-gc-salesops@amazon.com",
        "CA": "corp-gc-salesops@amazon.com",
        "MX": "corp-gc-salesops@amazon.com",
        "AU": "amazonaucorpgc@amazon.com",
        "JP": "jp-gc-salesops@amazon.com",
        "CN": "cn-gc-salesops@amazon.com",
        "UK": "corporate-gifts@amazon.co.uk",
        "TR": "corporate-gifts@amazon.co.uk",
        "UAE": "mena-gc-ops@amazon.com",
        "KSA": "mena-gc-ops@amazon.com",
        "DE": "gutscheine-grosskunden@amazon.de",
        "FR": "cheques-cadeaux-entreprises@amazon.fr",
        "ES": "cheques-regalo-empresas@amazon.es",
        "IT": "buoni-regalo-imprese@amazon.it",
        "NL": "amazon-incentives-nl@amazon.nl",
        "SG": "corporate-gc-sg@amazon.com",
    }
    assert non_urgent_address == "incentives-api@amazon.com"


# --- extract: label forms and synonyms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "Partner ID: Acmes",
        "partner id - Acmes",
        "Partner ID = Acmes",
        "Partner ID:\n Acmes",
        "Partner ID:\n\nAcmes",
        "- Partner ID: Acmes",
        "* Partner ID: Acmes",
        "• Partner ID: Acmes",
        "1. Partner ID: Acmes",
        "**Partner ID**: Acmes",
        "**Partner ID:** Acmes",
        "Partner ID\tAcmes",
        "What is your partner id? Acmes",
        "PartnerId: Acmes",
        "PARTNER-ID : Acmes",
        "  Partner ID :   Acmes  ",
        "Partner ID：Acmes",
        "【パートナーID】Acmes",
        "■パートナーID：Acmes",
        "Required\tWhat is your partner id?\tAcmes",
    ],
)
def test_label_forms(body):
    assert extract(f"Hi,\n\n{body}\n\nThanks", "") == {"partner_id": "Acmes"}


@pytest.mark.parametrize(
    "label, key",
    [
        ("Partner ID", "partner_id"),
        ("partner id", "partner_id"),
        ("What is your partner id?", "partner_id"),
        ("PartnerId", "partner_id"),
        ("Partner", "partner_id"),
        ("Request Id", "request_id"),
        ("Example request id", "request_id"),
        ("RequestID", "request_id"),
        ("Example request Id.", "request_id"),
        ("creationRequestId", "request_id"),
        ("Error", "error"),
        ("Error response", "error"),
        ("API error", "error"),
        ("Example API error response.", "error"),
        ("Error message", "error"),
        ("Error code", "error"),
        ("Phone", "phone"),
        ("Contact phone", "phone"),
        ("Contact phone number", "phone"),
        ("Tel", "phone"),
        ("Mobile", "phone"),
        ("Email", "email"),
        ("E-mail", "email"),
        ("Contact email", "email"),
        ("Name", "name"),
        ("Contact name", "name"),
        ("Contact", "name"),
        ("Marketplace", "marketplace"),
        ("Region", "marketplace"),
        ("Country", "marketplace"),
        ("What is the marketplace where you are experiencing the issue?", "marketplace"),
        ("Problem", "problem"),
        ("Description", "problem"),
        ("Issue", "problem"),
        ("Brief problem description", "problem"),
        ("Timestamp", "timestamp"),
        ("Time of example request", "timestamp"),
        ("Timestamp of example request id (with time zone).", "timestamp"),
        ("First failure", "first_failure"),
        ("First error at", "first_failure"),
        ("Started at", "first_failure"),
        (
            "What was the approximate time (with time zone) of the first request that returned an error?",
            "first_failure",
        ),
        ("Consistent?", "consistent"),
        ("Is the behavior consistent?", "consistent"),
        ("Is the behaviour consistent", "consistent"),
        ("Recent changes", "changes"),
        ("Changes", "changes"),
        ("Were there any recent changes (both programming and/or infrastructure) on your end?", "changes"),
        ("Card number", "card"),
        ("Serial number", "card"),
        ("Card/serial number", "card"),
        ("Example card/serial number (for physical card activation only).", "card"),
        ("Example request (raw) including headers.", "raw_request"),
        ("Raw request", "raw_request"),
        ("電話番号", "phone"),
        ("メールアドレス", "email"),
        ("担当者名", "name"),
        ("リクエストID", "request_id"),
        ("マーケットプレイス", "marketplace"),
        ("再現性", "consistent"),
        ("最近の変更", "changes"),
        ("联系电话", "phone"),
        ("合作伙伴ID", "partner_id"),
        ("错误响应", "error"),
        ("首次失败时间", "first_failure"),
    ],
)
def test_label_synonyms(label, key):
    assert extract(f"{label}: x-value\n", "") == {key: "x-value"}


def test_item_labels_round_trip():
    body = "\n".join(f"{i.label}: {i.example}" for i in ITEMS)
    assert extract(body, "") == {i.key: " ".join(i.example.split()) for i in ITEMS}


def test_prose_is_not_a_label():
    assert (
        extract(
            "The problem started after lunch: all calls fail.\nWe called our partner - no luck.\n"
            "Timestamps in the logs are GMT.\nHi Tel Aviv team: ping",
            "",
        )
        == {}
    )


def test_a_json_error_on_its_own_line_is_a_value_not_a_label():
    body = 'Example API error response:\n{"errorCode":"F500","errorType":"GeneralError"}\nMarketplace: US'
    assert extract(body, "") == {"error": '{"errorCode":"F500","errorType":"GeneralError"}', "marketplace": "US"}


@pytest.mark.parametrize("value", ["", "n/a", "N/A", "-", "--", "TBD", "tbd.", "?", "unknown"])
def test_placeholder_values_count_as_missing(value):
    assert extract(f"Partner ID: {value}\nRequest ID: {value}\n", "") == {}


def test_none_is_an_answer_not_a_placeholder():
    assert extract("Recent changes: None", "") == {"changes": "None"}


def test_values_are_trimmed_collapsed_and_capped():
    long = "word " * 300
    found = extract(f"Partner ID:    Ac   mes   \nProblem: {long}", "")
    assert found["partner_id"] == "Ac mes"
    assert len(found["problem"]) <= 500 and "  " not in found["problem"]


def test_outlook_link_annotations_are_dropped():
    found = extract(
        "Contact email: alice@partner.test<mailto:alice@partner.test>\nPhone: +1 555 0100<tel:+15550100>", ""
    )
    assert found == {"email": "alice@partner.test", "phone": "+1 555 0100"}


def test_a_description_runs_on_until_a_blank_line_or_another_label():
    body = (
        "Brief problem description: since 11:15 GMT\nall requests fail with F500.\nPOS is off.\n"
        "Partner ID: Acmes\nProblem: ignored second value\n\nError: F500\nnot part of the error\n"
    )
    found = extract(body, "")
    assert found["problem"] == "since 11:15 GMT all requests fail with F500. POS is off."
    assert found["partner_id"] == "Acmes"
    assert found["error"] == "F500 not part of the error"  # free text runs on: the error may be a multi-line JSON
    assert extract("Problem: all fail\nThanks,\nAlice", "") == {"problem": "all fail"}
    assert extract("Partner ID: Acmes\nsomething else", "") == {"partner_id": "Acmes"}  # short items take one line


def test_labels_in_any_order_and_case():
    found = extract("MARKETPLACE: JP\nerror response: F500\nrequest id: R1\npartner id: Acmes", "")
    assert found == {"marketplace": "JP", "error": "F500", "request_id": "R1", "partner_id": "Acmes"}


# --- extract: quotes, replies and forwards -------------------------------------------------------------------------


def test_quoted_lines_do_not_override_the_new_text():
    body = "> Partner ID: OldPartner\n> Request ID: Old1\n\nPartner ID: Acmes\n"
    assert extract(body, "") == {"partner_id": "Acmes", "request_id": "Old1"}  # quotes only fill gaps


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----\nFrom: Bob\nSent: Tuesday\n",
        "On Tue, 24 Nov 2026 at 10:00, Bob <bob@partner.test> wrote:\n",
        "On Tue, 24 Nov 2026 at 10:00, Bob Builder <\nbob@partner.test> wrote:\n",
        "________________________________\nFrom: Bob <bob@partner.test>\nSent: Tuesday, November 24, 2026 10:00 AM\n",
        "From: Bob <bob@partner.test>\nSent: Tuesday, November 24, 2026 10:00 AM\nTo: urgent@vendor.test\n",
        "---------- Forwarded message ---------\nFrom: Bob <bob@partner.test>\nDate: Tue, Nov 24, 2026\n",
        "Begin forwarded message:\n\nFrom: Bob <bob@partner.test>\n",
    ],
)
def test_an_older_mail_below_a_separator_does_not_override(separator):
    body = f"Partner ID: Acmes\nError: F500\n\n{separator}\nPartner ID: Old\nError: F300\nMarketplace: US\n"
    assert extract(body, "") == {"partner_id": "Acmes", "error": "F500", "marketplace": "US"}


def test_a_forward_whose_own_body_is_see_below_yields_the_forwarded_items():
    body = (
        "See below.\n\nBob\n\n________________________________\nFrom: Alice <alice@partner.test>\n"
        "Sent: Wednesday, November 25, 2026 11:40 AM\nTo: Bob <bob@partner.test>\nSubject: API down\n\n"
        "Partner ID: Acmes\nRequest ID: Acmes3324500H2\n"
    )
    assert extract(body, "") == {"partner_id": "Acmes", "request_id": "Acmes3324500H2"}


# --- extract: HTML -------------------------------------------------------------------------------------------------


def test_html_two_column_tables_with_td_or_th():
    markup = (
        "<html><head><style>p {margin:0}</style></head><body><p>Hi,</p><table>"
        "<tr><th>Item</th><th>Value</th></tr>"
        "<tr><td><b>Partner ID</b></td><td><p>Acmes</p></td></tr>"
        "<tr><th>Request ID:</th><td>Acmes3324500H2</td></tr>"
        "<tr><td>Brief problem description</td><td><p>All fail.</p><p>POS is off.</p></td></tr>"
        "<tr><td>Example API error response</td><td>&#39;F500&#39; GeneralError</td></tr>"
        "<tr><td>Marketplace</td><td>&nbsp;</td></tr>"
        "</table><p>Thanks</p></body></html>"
    )
    assert extract("", markup) == {
        "partner_id": "Acmes",
        "request_id": "Acmes3324500H2",
        "problem": "All fail. POS is off.",
        "error": "'F500' GeneralError",
    }


def test_html_copy_of_the_sop_table_with_its_required_column():
    markup = (
        "<table><tr><td>Required</td><td>What is your partner id?</td><td>Acmes</td></tr>"
        "<tr><td>Required</td><td>Example request Id.</td><td>Acmes3324500H2</td></tr></table>"
    )
    assert extract("", markup) == {"partner_id": "Acmes", "request_id": "Acmes3324500H2"}


def test_html_layout_table_around_the_body_and_label_lines_in_divs():
    markup = (
        "<table><tr><td><div>Partner ID: Acmes</div><div>Request ID:</div><div>R-1</div><div><br></div>"
        "<table><tr><td>Marketplace</td><td>JP</td></tr></table></td></tr></table>"
    )
    assert html_lines(markup)[:3] == ["Partner ID: Acmes", "Request ID:", "R-1"]
    assert extract("", markup) == {"partner_id": "Acmes", "request_id": "R-1", "marketplace": "JP"}


def test_html_blockquote_is_quoted_text():
    markup = "<div>Partner ID: Acmes</div><blockquote><div>Partner ID: Old</div><div>Error: F300</div></blockquote>"
    assert extract("", markup) == {"partner_id": "Acmes", "error": "F300"}


def test_gmail_html_reply_quote_does_not_override():
    markup = (
        '<div dir="ltr">Partner ID: New<br></div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
        'On Tue, Nov 24, 2026 at 10:00 AM Bob &lt;<a href="mailto:bob@partner.test">bob@partner.test</a>&gt; '
        'wrote:<br></div><blockquote class="gmail_quote"><div dir="ltr">Partner ID: Old<div>Error: F300</div>'
        "</div></blockquote></div>"
    )
    assert extract("", markup) == {"partner_id": "New", "error": "F300"}


def test_html_wins_over_text_and_text_fills_gaps():
    assert extract("Partner ID: FromText\nError: F500", "<p>Partner ID: FromHtml</p>") == {
        "partner_id": "FromHtml",
        "error": "F500",
    }


def test_malformed_html_does_not_raise():
    assert extract("", "<table><tr><td>Partner ID<td>Acmes<tr><td>Error<td>F500") == {
        "partner_id": "Acmes",
        "error": "F500",
    }
    assert extract("", "<<<>>></td></tr></table></blockquote>") == {}


# --- missing and physical cards ------------------------------------------------------------------------------------


def test_missing_lists_required_items_in_sop_order():
    assert [i.key for i in missing({})] == REQUIRED
    assert [i.key for i in missing({}, physical=True)] == [i.key for i in ITEMS if i.required]
    full = {i.key: i.example for i in ITEMS if i.required}
    assert missing(full, physical=True) == []
    assert [i.key for i in missing({**full, "card": ""}, physical=True)] == ["card"]
    assert missing({k: v for k, v in full.items() if k != "card"}) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Physical card activation fails since 10:00 GMT", True),
        ("We cannot activate our physical cards at the POS", True),
        ("ActivateGiftCard returns F500 for every card", True),
        ("Card activation is broken", True),
        ("物理カードのアクティベーションが失敗しています", True),
        ("CreateGiftCard returns F500 for every request", False),
        ("Example card/serial number (for physical card activation only): n/a", False),  # the SOP's own label
        ("This is not a physical card activation problem: CreateGiftCard fails", False),
        ("We don't activate physical cards; digital codes fail", False),
        ("> Physical card activation failed last week\n\nCreateGiftCard fails now", False),
    ],
)
def test_is_physical(text, expected):
    assert is_physical(text) is expected


# --- marketplace ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, key",
    [
        ("US", "US"),
        ("us", "US"),
        ("United States", "US"),
        ("USA", "US"),
        ("amazon.com", "US"),
        ("US (amazon.com)", "US"),
        ("amazon.co.uk", "UK"),
        ("UK", "UK"),
        ("GB", "UK"),
        ("United Kingdom", "UK"),
        ("Japan", "JP"),
        ("JP marketplace", "JP"),
        ("amazon.co.jp", "JP"),
        ("日本", "JP"),
        ("UAE", "UAE"),
        ("AE", "UAE"),
        ("United Arab Emirates", "UAE"),
        ("Saudi Arabia", "KSA"),
        ("SA", "KSA"),
        ("KSA", "KSA"),
        ("Turkey", "TR"),
        ("amazon.com.tr", "TR"),
        ("Canada", "CA"),
        ("amazon.com.mx", "MX"),
        ("Australia", "AU"),
        ("amazon.com.au", "AU"),
        ("China", "CN"),
        ("中国", "CN"),
        ("Germany", "DE"),
        ("DE", "DE"),
        ("France", "FR"),
        ("España", "ES"),
        ("es", "ES"),
        ("Italy", "IT"),
        ("Netherlands", "NL"),
        ("amazon.nl", "NL"),
        ("Singapore", "SG"),
        ("The US marketplace", "US"),
    ],
)
def test_marketplace_from_the_item(value, key):
    assert marketplace({"marketplace": value}, "", "") == key


@pytest.mark.parametrize(
    "text, subject, key",
    [
        ("", "[JP] CreateGiftCard fails", "JP"),
        ("Orders on amazon.de fail since 10:00 GMT.", "API down", "DE"),
        ("Our Japan business is down.", "", "JP"),
        ("All requests for the UK marketplace fail.", "", "UK"),
        ("Marketplace - FR", "", "FR"),
        ("Our IT team sees errors; let US know. CA certificate is fine.", "", None),
        ("Please escalate to corp-gc-salesops@amazon.com and amazon.com support", "", None),
        ("Both amazon.de and amazon.fr fail", "", None),
        ("", "", None),
    ],
)
def test_marketplace_from_the_subject_or_text(text, subject, key):
    assert marketplace({}, text, subject) == key


def test_marketplace_item_wins_over_text_and_unknown_item_falls_back():
    assert marketplace({"marketplace": "JP"}, "Our amazon.de shop", "") == "JP"
    assert marketplace({"marketplace": "EU"}, "Our amazon.de shop", "") == "DE"
    assert marketplace({"marketplace": "US and CA"}, "", "") is None


def test_every_marketplace_key_has_an_operations_team():
    for value in ["US", "CA", "MX", "AU", "JP", "CN", "UK", "TR", "UAE", "KSA", "DE", "FR", "ES", "IT", "NL", "SG"]:
        assert marketplace({"marketplace": value}, "", "") in OPERATIONS_TEAMS


# --- misroute ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, subject, expected",
    [
        ("CreateGiftCard returns insufficient funds", "", "Insufficient Funds"),
        ("Error: F300 InsufficientFunds", "", "Insufficient Funds"),
        ("errorCode INSUFFICIENT_FUNDS", "", "Insufficient Funds"),
        ("", "AGCOD - Insufficient Funds", "Insufficient Funds"),
        ("not sure why we get InsufficientFunds", "", "Insufficient Funds"),
        ("Every call returns F400 - contract not found", "", "contract"),
        ("The API says there is no active contract", "", "contract"),
        ("Our contract has expired according to the error", "", "contract"),
        ("Error response: 'F400' InvalidContract", "", "contract"),
        ("The error message mentions our contract", "", "contract"),
        ("Error response: F500 GeneralError. Our contract phone number is +1 555 0100.", "", None),
        ("Our contract engineer saw F500 errors since 10:00 GMT", "", None),
        ("This is not an Insufficient Funds error: F500 on every call", "", None),
        ("All calls fail with F500.", "API down", None),
    ],
)
def test_misroute(text, subject, expected):
    assert misroute(text, subject) == expected


def test_misroute_ignores_quoted_and_older_mails_in_a_reply():
    old = "Last month: CreateGiftCard returned InsufficientFunds and the contract has expired."
    assert misroute(f"F500 on all calls.\n\n> {old}\n", "RE: API down") is None
    assert (
        misroute(
            f"F500 on all calls.\n\n-----Original Message-----\nFrom: Bob\nSent: Monday\n\n{old}\n", "RE: API down"
        )
        is None
    )
    assert misroute(f"F500 on all calls.\n\nOn Mon, 23 Nov 2026, Bob <bob@partner.test> wrote:\n{old}\n", "") is None


def test_misroute_reads_the_forwarded_part_of_a_forward():
    body = (
        "See below.\n\n________________________________\nFrom: Alice <alice@partner.test>\n"
        "Sent: Wednesday, November 25, 2026 11:40 AM\nTo: Bob\nSubject: errors\n\nError: F300 InsufficientFunds\n"
    )
    assert misroute(body, "FW: errors") == "Insufficient Funds"
    assert misroute(body, "RE: errors") is None


# --- the corpus ----------------------------------------------------------------------------------------------------

ALL = [i.key for i in ITEMS if i.required]
CORPUS_EXPECTED = {  # file: (marketplace, misroute, physical, missing keys)
    "outlook_html_table.eml": ("US", None, False, []),
    "gmail_plain_flowed.eml": ("UK", None, False, []),
    "apple_mail_html.eml": ("AU", None, True, []),  # its opening paragraph is the problem description
    "outlook_forward.eml": ("DE", None, False, []),
    "japanese_shift_jis.eml": ("JP", None, True, ["timestamp", "consistent", "changes"]),  # problem: its prose
    "chinese_gb2312.eml": ("CN", None, False, []),
    "windows1252.eml": ("FR", None, False, []),
    "utf8.eml": ("ES", None, False, []),
    # "Our gift card API calls are all failing right now" is a brief problem description
    "missing_items.eml": (None, None, False, [k for k in REQUIRED if k not in ("partner_id", "error", "problem")]),
    "misroute_us.eml": ("US", "Insufficient Funds", False, None),
    "misroute_au.eml": ("AU", "contract", False, None),
    "misroute_jp.eml": ("JP", "Insufficient Funds", False, None),
    "misroute_cn.eml": ("CN", "Insufficient Funds", False, None),
    "misroute_uk.eml": ("UK", "contract", False, None),
    "misroute_tr.eml": ("TR", "Insufficient Funds", False, None),
    "misroute_uae.eml": ("UAE", "contract", False, None),
    "misroute_ksa.eml": ("KSA", "Insufficient Funds", False, None),
    "misroute_de.eml": ("DE", "contract", False, None),
    "misroute_fr.eml": ("FR", "Insufficient Funds", False, None),
    "misroute_es.eml": ("ES", "contract", False, None),
    "misroute_it.eml": ("IT", "Insufficient Funds", False, None),
    "misroute_nl.eml": ("NL", "contract", False, None),
    "misroute_sg.eml": ("SG", "Insufficient Funds", False, None),
}


def test_the_corpus_is_complete():
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted([*CORPUS_EXPECTED, "japanese_iso2022jp.eml"])


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTED))
def test_corpus_mail(name):
    m = mail(name)
    market, wrong_line, physical, lacking = CORPUS_EXPECTED[name]
    items = extract(m.text, m.html)
    assert marketplace(items, m.text, m.subject) == market
    assert misroute(m.text, m.subject) == wrong_line
    assert is_physical(m.text) is physical
    if lacking is not None:
        assert [i.key for i in missing(items, physical)] == lacking
    if market:
        assert OPERATIONS_TEAMS[market].endswith(
            ("@amazon.com", "@amazon.co.uk", "@amazon.de", "@amazon.fr", "@amazon.es", "@amazon.it", "@amazon.nl")
        )


@pytest.mark.parametrize("name", sorted([*CORPUS_EXPECTED, "japanese_iso2022jp.eml"]))
def test_corpus_mails_are_well_formed_and_use_test_domains_only(name):
    raw = (CORPUS / name).read_bytes()
    m = parse(raw)
    assert m.message_id.endswith(".test>") or m.message_id.endswith(".TEST>")
    assert m.date is not None and m.defects == ()
    assert "urgent@vendor.test" in m.to and m.sender.endswith("@partner.test")
    for address in re.findall(rb"[\w.+-]+@([\w.-]+)", raw.split(b"\r\n\r\n")[0].split(b"\n\n")[0]):
        assert address.lower().endswith(b".test"), address


def test_outlook_table_yields_every_item_from_the_html():
    m = mail("outlook_html_table.eml")
    assert m.thread_index is not None and m.html
    assert extract(m.text, m.html) == {
        "phone": "+1-206-555-0142",
        "email": "alice@partner.test",
        "name": "Alice Engineer",
        "problem": "Beginning at approximately 11:15 GMT all requests are failing with an F500 error. We have turned "
        "off Amazon gift cards from our POS systems until this is resolved.",
        "partner_id": "Acmes",
        "request_id": "Acmes3324500H2",
        "error": "'F500' GeneralError",
        "marketplace": "US",
        "timestamp": "11:32:06 GMT",
        "first_failure": "11:15:06 GMT",
        "consistent": "Yes, every request since 11:15 GMT has been failing.",
        "changes": "No, we have not had any software changes in the last two months.",
        "raw_request": "Attached: request-Acmes3324500H2.txt",
    }
    assert "POST /CreateGiftCard" not in m.text  # the attached raw request is not body text


def test_gmail_flowed_lines_join_back():
    items = extract(*(lambda m: (m.text, m.html))(mail("gmail_plain_flowed.eml")))
    assert items["problem"].endswith("we switched the gift card tile off at 08:20 GMT.")
    assert "Our customers cannot buy gift cards at checkout — we" in items["problem"]
    assert items["partner_id"] == "Acmes" and items["request_id"] == "AcmesUK20261125080455"
    assert items["error"].startswith('{"errorCode":"F500"')


def test_apple_mail_label_lines_with_the_value_on_the_next_line():
    m = mail("apple_mail_html.eml")
    items = extract(m.text, m.html)
    assert items["request_id"] == "AcmesAU0099120" and items["card"] == "1400000005567580"
    assert items == extract("", m.html) == extract(m.text, "")


def test_forwarded_t1_yields_the_forwarded_items():
    m = mail("outlook_forward.eml")
    items = extract(m.text, m.html)
    assert m.subject.startswith("FW:")
    assert items["name"] == "Jonas Weber" and items["request_id"] == "AcmesDE0081234"


def test_japanese_shift_jis_decodes_and_yields_items():
    m = mail("japanese_shift_jis.eml")
    assert m.subject == "物理カードのアクティベーション失敗（ActivateGiftCard F500）"
    assert m.sender_name == "佐藤 花子"
    assert "店頭（コンビニ）での物理カードのアクティベーション" in m.text
    assert (
        extract(m.text, m.html)
        == {
            "partner_id": "Acmes",
            "request_id": "AcmesAct0001942",
            "card": "1400000005567580",
            "error": "'F500' GeneralError",
            "marketplace": "日本",
            "first_failure": "2026/11/26 09:40 JST",
            "phone": "03-5555-0123",
            "email": "sato@partner.test",
            "name": "佐藤 花子",
            "problem": "店頭（コンビニ）での物理カードのアクティベーションが 09:40 JST から失敗しています。",  # said in prose
        }
    )


def test_chinese_gb2312_decodes_and_yields_items():
    m = mail("chinese_gb2312.eml")
    assert m.subject == "紧急：Incentives API 故障，所有请求返回 F500"
    assert "联系人：王磊" in m.text
    items = extract(m.text, m.html)
    assert items["name"] == "王磊" and items["consistent"] == "是，所有请求都失败。" and items["marketplace"] == "中国"


def test_windows_1252_smart_quotes_survive():
    m = mail("windows1252.eml")
    assert m.subject == "Incentives API – “F500” on every request (FR)"
    assert m.sender_name == "Hélène Dupré"
    items = extract(m.text, m.html)
    assert items["name"] == "Hélène Dupré"
    assert items["error"] == "“F500” GeneralError"
    assert items["problem"].endswith("we’ve paused the gift card offer on our café loyalty app…")


def test_utf8_markdown_labels():
    m = mail("utf8.eml")
    assert m.subject == "URGENTE: Incentives API caída – F500 en todas las peticiones"
    items = extract(m.text, m.html)
    assert items["name"] == "José Núñez" and items["consistent"] == "Sí, el 100 % de las peticiones."


def test_foxmail_quoted_encoded_sender_name_decodes():
    """Foxmail writes From: "=?gb2312?B?...?=" <a@b>: an encoded word in quotes, against RFC 2047, which common
    readers decode all the same."""
    assert mail("chinese_gb2312.eml").sender_name == "王磊"


ISO2022JP_SUBJECT = "【緊急】Incentives API 障害：全リクエストが F500 で失敗"


def test_japanese_iso_2022_jp_headers_decode():
    m = mail("japanese_iso2022jp.eml")
    assert m.subject == ISO2022JP_SUBJECT
    assert m.sender_name == "山田 太郎"


def test_japanese_iso_2022_jp_items_from_the_body_as_the_stdlib_decodes_it():
    msg = email.message_from_bytes((CORPUS / "japanese_iso2022jp.eml").read_bytes(), policy=email.policy.default)
    text = msg.get_content()
    assert "株式会社パートナーの山田です。" in text
    items = extract(text, "")
    assert [i.key for i in missing(items)] == []
    assert items["phone"] == "+81-3-3123-4567" and items["name"] == "山田 太郎 / Taro Yamada"
    assert (
        items["problem"]
        == "2026/11/25 20:15 JST 頃から、すべてのリクエストが F500 で失敗しています。 POS でのギフトカード販売を停止しました。"
    )
    assert items["timestamp"] == "2026/11/25 20:32:06 JST"
    assert marketplace(items, text, ISO2022JP_SUBJECT) == "JP" and misroute(text, ISO2022JP_SUBJECT) is None


def test_japanese_iso_2022_jp_body_round_trips_through_mail_parse():
    m = mail("japanese_iso2022jp.eml")
    assert "株式会社パートナーの山田です。" in m.text
    assert extract(m.text, m.html)["partner_id"] == "Acmes"


def test_the_corpus_script_is_deterministic_and_matches_the_committed_files(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.main()
    written = sorted(tmp_path.iterdir())
    assert len(written) == 6
    for path in written:
        assert path.read_bytes() == (CORPUS / path.name).read_bytes(), path.name
