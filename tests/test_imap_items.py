"""What the IMAP session asks and is answered, as plain values (agent/adapters/imap_items.py): literal inputs, no
server. The SEARCH key is also run against a real Dovecot in tests/test_old_mail.py."""

from agent.adapters.imap_items import any_of, beginning_item, fields_item, is_bye, is_news
from agent.core.reading.folder import Involved


def test_old_mail_must_name_one_address_in_from_to_or_cc_or_carry_the_stamp():
    key = any_of(Involved(("urgent@vendor.test", "agent@partner.test")))
    assert key == [
        "OR",
        [
            "OR",
            [
                "OR",
                [
                    "OR",
                    [
                        "OR",
                        ["OR", ["FROM", "urgent@vendor.test"], ["TO", "urgent@vendor.test"]],
                        ["CC", "urgent@vendor.test"],
                    ],
                    ["FROM", "agent@partner.test"],
                ],
                ["TO", "agent@partner.test"],
            ],
            ["CC", "agent@partner.test"],
        ],
        ["HEADER", "X-Escalation-Agent-Provenance", ""],
    ]


def test_the_header_fields_item_is_found_whatever_case_the_server_echoes_the_names_in():
    answer = {
        b"RFC822.SIZE": 9120,
        b"INTERNALDATE": b"06-Dec-2026 09:12:44 +0000",
        b"BODY[HEADER.FIELDS (Message-ID From)]": b"Message-ID: <a@b.test>\r\nFrom: x@y.test\r\n\r\n",
    }
    assert fields_item(answer) == b"Message-ID: <a@b.test>\r\nFrom: x@y.test\r\n\r\n"
    assert fields_item({b"RFC822.SIZE": 1}) == b""
    assert beginning_item({b"BODY[]<0>": b"From: x@y.test\r\n"}) == b"From: x@y.test\r\n"


def test_idle_answers_news_and_a_goodbye():
    assert is_news((3, b"EXISTS")) and is_news((1, b"RECENT")) and not is_news((2, b"EXPUNGE"))
    assert is_bye((b"BYE",)) and is_bye((b"BYE", b"Server shutting down")) and not is_bye((3, b"EXISTS"))
