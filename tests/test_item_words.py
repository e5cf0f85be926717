"""The SOP's items in the engineer's own words: labels the SOP does not use, values on the next line, sentences,
plain text and HTML. Every T1 here is written as engineers write them (invented people, .test domains only).
PHRASINGS, SECOND and THIRD are the corpus tools/items_recognition.py measures."""

import pytest

from agent.core.procedure.items import ITEM, ITEMS, extract, is_physical, missing

# (the engineer's words, the item they must yield, a part of the value it must be)
PHRASINGS = [
    # contact phone number
    ("Best number to reach me: +1 (206) 555-0199", "phone", "555-0199"),
    ("Call me on +44 7700 900123 if you need anything.", "phone", "+44 7700 900123"),
    ("My mobile is 090-1234-5678, I'm on call all night.", "phone", "090-1234-5678"),
    ("On-call phone - +81 3 5555 0101", "phone", "+81 3 5555 0101"),
    ("Rückrufnummer: +49 30 5555 0100", "phone", "+49 30 5555 0100"),
    ("Phone\n+39 02 5555 0142", "phone", "+39 02 5555 0142"),
    # contact email
    ("Email me at alice@partner.test", "email", "alice@partner.test"),
    ("You can also reach the team at payments-oncall@partner.test.", "email", "payments-oncall@partner.test"),
    ("Mail address - kenji@partner.test", "email", "kenji@partner.test"),
    ("E-Mail-Adresse: jonas@partner.test", "email", "jonas@partner.test"),
    ("E-mail\nmaria.rossi@partner.test", "email", "maria.rossi@partner.test"),
    # contact name
    ("This is Alice Engineer from Acme's payments team.", "name", "Alice Engineer"),
    ("My name is Kenji Sato, I'm on call tonight.", "name", "Kenji Sato"),
    ("Engineer on call: Priya Shah", "name", "Priya Shah"),
    ("Reported by - Tom Baker", "name", "Tom Baker"),
    ("Who to contact: Maria Rossi", "name", "Maria Rossi"),
    ("株式会社パートナーの山田と申します。", "name", "山田"),
    ("我是李娜，负责支付系统。", "name", "李娜"),
    ("Ansprechpartner: Jonas Weber", "name", "Jonas Weber"),
    # brief problem description
    (
        "Since 11:15 GMT every CreateGiftCard call fails with F500 and our checkout can't sell gift cards.",
        "problem",
        "CreateGiftCard call fails",
    ),
    ("Description of the problem: POS terminals cannot activate cards, ActivateGiftCard times out.", "problem", "POS"),
    ("What's happening: CreateGiftCard returns 500s for all EU traffic", "problem", "500s"),
    ("Issue summary - AGCOD is down for us", "problem", "AGCOD is down"),
    ("We are seeing F500 errors on all CreateGiftCard requests since about 9am.", "problem", "F500 errors"),
    ("Problembeschreibung: Alle CreateGiftCard-Anfragen schlagen mit F500 fehl.", "problem", "schlagen"),
    ("The Incentives API has been returning GeneralError to every request since 02:00 UTC.", "problem", "Incentives"),
    # partner id
    ("Our partner id is Acme", "partner_id", "Acme"),
    ("We are partner AcmesEU on the Incentives API.", "partner_id", "AcmesEU"),
    ("Partner code - ACME01", "partner_id", "ACME01"),
    ("partnerId=Acmes", "partner_id", "Acmes"),
    ("The partner ID for this account is AcmeJP.", "partner_id", "AcmeJP"),
    ("パートナーIDはAcmesです。", "partner_id", "Acmes"),
    ("我们的合作伙伴ID是AcmesCN。", "partner_id", "AcmesCN"),
    # example request id
    ("One failing request: Acmes3324500H2", "request_id", "Acmes3324500H2"),
    ("e.g. request Acmes3324500H2 at 11:32:06 GMT", "request_id", "Acmes3324500H2"),
    ("Sample request ID - AcmesJP0001", "request_id", "AcmesJP0001"),
    ("The requestId from our logs is 7f3c2a9e-1b4d-4c7e-9a0f-2d6b8e1c5a33", "request_id", "7f3c2a9e-1b4d"),
    ('creationRequestId "Acmes20261125X7" failed again', "request_id", "Acmes20261125X7"),
    ("req id AcmesDE0099812 @ 14:31:07 GMT", "request_id", "AcmesDE0099812"),
    ("Request ID of a failing call - AcmesIT0007781", "request_id", "AcmesIT0007781"),
    # example card / serial number
    ("Card serial: 1400000005567580", "card", "1400000005567580"),
    ("Example card we tried: 1400 0000 0556 7580", "card", "1400 0000 0556 7580"),
    ("The serial on the back of the card is 1400000005567580.", "card", "1400000005567580"),
    ("Gift card no. 1400000005567581", "card", "1400000005567581"),
    ("Card serial\n1400000005567582", "card", "1400000005567582"),
    # example API error response
    ("API error returned: 'F500' GeneralError", "error", "'F500' GeneralError"),
    ('The response body is {"errorCode":"F500","errorType":"GeneralError"}', "error", '"errorCode":"F500"'),
    ("Every call comes back with HTTP 503 Service Unavailable.", "error", "HTTP 503 Service Unavailable"),
    ("What we get back - F500 / GeneralError", "error", "F500"),
    ("Error we see: ThrottlingException on every request", "error", "ThrottlingException"),
    ("Fehlermeldung: F500 GeneralError", "error", "F500 GeneralError"),
    # marketplace
    ("Marketplace affected: US", "marketplace", "US"),
    ("This only affects our amazon.co.uk storefront.", "marketplace", "amazon.co.uk"),
    ("All calls for the German marketplace fail since 10:00 GMT.", "marketplace", "Germany"),
    ("Which marketplace? UK", "marketplace", "UK"),
    ("Our customers in Japan can't redeem codes.", "marketplace", "Japan"),
    ("It's the US marketplace only, CA is fine.", "marketplace", "US marketplace"),
    ("対象マーケットプレイス：日本", "marketplace", "日本"),
    ("Marketplace affected\nIT", "marketplace", "IT"),
    # timestamp of the example request
    ("Time of the sample request: 11:32:06 GMT", "timestamp", "11:32:06 GMT"),
    ("The example request went out at 11:32:06 UTC.", "timestamp", "11:32:06 UTC"),
    ("Request Acmes3324500H2 was sent at 2026-11-25 11:32:06 GMT.", "timestamp", "2026-11-25 11:32:06 GMT"),
    ("When was it sent - 11:32 GMT", "timestamp", "11:32 GMT"),
    ("Sample request time (UTC): 11:32:06", "timestamp", "11:32:06"),
    ("Zeitpunkt der Beispielanfrage: 11:32 MEZ", "timestamp", "11:32"),
    # approximate time of the first failing request
    ("Approximate time of first error: around 11:10 GMT", "first_failure", "11:10 GMT"),
    ("Started failing at 11:10 GMT", "first_failure", "11:10 GMT"),
    ("The first error was at 11:10 GMT.", "first_failure", "11:10 GMT"),
    ("It's been broken since 06:45 UTC this morning.", "first_failure", "06:45 UTC"),
    ("First noticed ~10:50 GMT", "first_failure", "10:50 GMT"),
    ("At 11:15 GMT our CreateGiftCard calls started failing.", "first_failure", "11:15 GMT"),
    ("09:40 JST から失敗しています。", "first_failure", "09:40 JST"),
    ("Erster Fehler: 11:10 Uhr", "first_failure", "11:10"),
    # is the behaviour consistent
    ("Is it consistent or intermittent? Consistent, 100% of calls.", "consistent", "Consistent"),
    ("It fails every time.", "consistent", "every time"),
    ("It's intermittent, maybe one in five requests goes through.", "consistent", "intermittent"),
    ("Roughly half of the requests fail, the rest succeed after a retry.", "consistent", "half of the requests"),
    ("Not a single request has succeeded since 11:15.", "consistent", "Not a single request"),
    ("Happens every time? yes", "consistent", "yes"),
    ("再現性：毎回発生します", "consistent", "毎回"),
    ("Tritt der Fehler dauerhaft auf? Ja, dauerhaft.", "consistent", "dauerhaft"),
    # recent changes on the partner's side
    ("Recent changes on our end? None.", "changes", "None"),
    ("We have made no changes on our side.", "changes", "no changes"),
    ("Nothing was deployed on our side this week.", "changes", "Nothing was deployed"),
    ("We deployed a new build at 10:50 GMT, 20 minutes before the first error.", "changes", "deployed"),
    ("Any deployments recently? Yes, v4.2 went out yesterday 18:00 GMT.", "changes", "v4.2"),
    ("No config changes, no deploys.", "changes", "No config changes"),
    ("変更はありません。", "changes", "変更はありません"),
    ("没有做任何变更。", "changes", "没有做任何变更"),
    ("Keine Änderungen auf unserer Seite.", "changes", "Keine Änderungen"),
]

# A second batch, written after the rules above were and measured before they were touched again: 55 of 58 right
# at first (a partner named after "We're", and two times whose "am GMT" was cut off); the rules were then fixed.
SECOND = [
    ("Ph: +1-312-555-0147", "phone", "+1-312-555-0147"),
    ("You can ring me any time on 07700 900456.", "phone", "07700 900456"),
    ("Contact no.: +65 6555 0192", "phone", "+65 6555 0192"),
    ("Phone/WhatsApp: +971 50 555 0133", "phone", "+971 50 555 0133"),
    ("携帯：080-5555-0199", "phone", "080-5555-0199"),
    ("My email: d.kim@partner.test", "email", "d.kim@partner.test"),
    ("Please reply to oncall@partner.test (the whole team reads it).", "email", "oncall@partner.test"),
    ("Email address of the reporter - r.gomez@partner.test", "email", "r.gomez@partner.test"),
    ("メールアドレス（担当）：tanaka@partner.test", "email", "tanaka@partner.test"),
    ("Name of engineer: Dana Kim", "name", "Dana Kim"),
    ("I'm Raúl Gómez, SRE at Acme Iberia.", "name", "Raúl Gómez"),
    ("Reporter — Lukas Schmidt", "name", "Lukas Schmidt"),
    ("Hello, Dana here from the Acme checkout team.", "name", "Dana"),
    ("担当：田中 一郎", "name", "田中 一郎"),
    ("Summary: CreateGiftCard requests are timing out for all customers", "problem", "timing out"),
    ("Our gift card checkout is broken: every CreateGiftCard call returns F500.", "problem", "F500"),
    ("Impact - customers cannot buy e-gift cards on our site, API calls fail.", "problem", "cannot buy"),
    ("问题描述：CreateGiftCard 接口全部返回 F500。", "problem", "F500"),
    ("We're unable to reach the Incentives API endpoint since this morning.", "problem", "unable to reach"),
    ("Partner: AcmeSG", "partner_id", "AcmeSG"),
    ("our AGCOD partner ID = AcmesSG", "partner_id", "AcmesSG"),
    ("Partner-ID lautet AcmesDE.", "partner_id", "AcmesDE"),
    ("We're partner 'AcmeMX' in the Incentives program.", "partner_id", "AcmeMX"),
    ("RequestId of one failed call: AcmesSG00018822", "request_id", "AcmesSG00018822"),
    ("Here's a request id that failed: 4c1f8a77-2d3e-4b9a-8f61-0e9b7c2a5d14", "request_id", "4c1f8a77"),
    ("Failing request ref: AcmesMX-000931", "request_id", "AcmesMX-000931"),
    ("Beispiel-Request-ID: AcmesDE0004411", "request_id", "AcmesDE0004411"),
    ("Serial no. of the card we tested: 1400000005567583", "card", "1400000005567583"),
    ("Card # 1400 0000 0556 7584", "card", "1400 0000 0556 7584"),
    ("シリアル：1400000005567585", "card", "1400000005567585"),
    ('Response we get: {"errorCode":"F500","errorType":"GeneralError","message":"Internal error"}', "error", "F500"),
    ("The API answers with 'F500 GeneralError' on every call.", "error", "F500"),
    ("Returned error - F400 InvalidRequest", "error", "F400"),
    ("Got a 504 Gateway Timeout from the endpoint.", "error", "504 Gateway Timeout"),
    ("Country: Singapore", "marketplace", "Singapore"),
    ("Store affected: amazon.com.au", "marketplace", "amazon.com.au"),
    ("Only the Mexico marketplace is impacted.", "marketplace", "Mexico"),
    ("It affects orders in the UK and Ireland.", "marketplace", "UK"),
    ("市场：美国", "marketplace", "美国"),
    ("Example call made at 09:12:44 UTC.", "timestamp", "09:12:44 UTC"),
    ("Request time — 2026-11-25T09:12:44Z", "timestamp", "2026-11-25T09:12:44Z"),
    ("That request was at 9:12 am GMT.", "timestamp", "9:12 am GMT"),
    ("请求时间：2026-11-25 17:12:44 CST", "timestamp", "17:12:44"),
    ("When did it start? Around 08:55 GMT.", "first_failure", "08:55 GMT"),
    ("Errors began at roughly 08:55 UTC.", "first_failure", "08:55 UTC"),
    ("First failure seen ~ 08:55 GMT", "first_failure", "08:55 GMT"),
    ("Since approx. 8:55am GMT nothing works.", "first_failure", "8:55am GMT"),
    ("The outage started 08:55 UTC.", "first_failure", "08:55 UTC"),
    ("Consistency: every single request fails", "consistent", "every single request"),
    ("It's sporadic, maybe 10% of calls.", "consistent", "sporadic"),
    ("All requests fail, 100% reproducible.", "consistent", "reproducible"),
    ("Intermittent or constant? Constant.", "consistent", "Constant"),
    ("每次都失败。", "consistent", "每次都失败"),
    ("Any changes on your side? Nope.", "changes", "Nope"),
    ("We didn't deploy anything today.", "changes", "deploy"),
    ("Last release on our side was 3 days ago.", "changes", "release"),
    ("Nothing changed in our integration.", "changes", "Nothing changed"),
    ("Changes: rotated our API credentials yesterday at 17:00 GMT", "changes", "rotated"),
]
# A third batch, written after SECOND's fixes and measured before any further one: 24 of 26 right (an address after
# "drop me a line at", "Point of contact tonight"), and 9 of its 10 prose lines rightly not taken ("This is
# Priority 1" gave a name); fixed after.
THIRD = [
    ("Direct line: +852 5555 0148", "phone", "+852 5555 0148"),
    ("Best way to get hold of me is my cell, 415-555-0163.", "phone", "415-555-0163"),
    ("Drop me a line at ming.chen@partner.test if the bridge drops.", "email", "ming.chen@partner.test"),
    ("Contact address: ops@partner.test", "email", "ops@partner.test"),
    ("Point of contact tonight - Farah Haddad", "name", "Farah Haddad"),
    ("My name's Oliver Grant and I run the gift card integration.", "name", "Oliver Grant"),
    (
        "Since the 10:40 GMT deploy window closed, all CreateGiftCard calls fail with F500 for our shoppers.",
        "problem",
        "CreateGiftCard",
    ),
    ("Issue: Incentives API returns GeneralError, gift card sales halted", "problem", "GeneralError"),
    ("Partner identifier: AcmesAU", "partner_id", "AcmesAU"),
    ("We use partner ID AcmesCA for Canada.", "partner_id", "AcmesCA"),
    ("A request that failed: AcmesCA20261125X42", "request_id", "AcmesCA20261125X42"),
    ("ReqID AcmesAU0019920 failed too.", "request_id", "AcmesAU0019920"),
    ("Serial number on the failing card: 1400 0000 0556 7586", "card", "1400 0000 0556 7586"),
    ("Card no: 1400000005567587", "card", "1400000005567587"),
    ("We get back F500 GeneralError with an empty message.", "error", "F500"),
    ("errorCode: F500, errorType: GeneralError", "error", "F500"),
    ("Marketplace in question: CA", "marketplace", "CA"),
    ("Affects our Canadian customers only.", "marketplace", "Canada"),
    ("The failing request I quoted was made at 22:03:17 GMT.", "timestamp", "22:03:17 GMT"),
    ("Timestamp (UTC) of that call: 22:03:17", "timestamp", "22:03:17"),
    ("We first saw errors at 21:47 GMT.", "first_failure", "21:47 GMT"),
    ("Failures started around 21:47 UTC and haven't stopped.", "first_failure", "21:47 UTC"),
    ("Every request is failing, no exceptions.", "consistent", "Every request"),
    ("It comes and goes, some calls still succeed.", "consistent", "some calls"),
    ("Recent changes: a TLS library upgrade on Monday.", "changes", "TLS"),
    ("Nothing has been released by us since last Thursday.", "changes", "Nothing"),
]
CORPUS = PHRASINGS + SECOND + THIRD

# Prose that must NOT yield the item: ordinary words of a mail, other times, quotes, signatures.
NOT_ITEMS = [
    ("The problem started after lunch: all calls fail.", "first_failure"),
    ("Please treat every request from us as urgent.", "consistent"),
    ("We want a consistent experience for our customers.", "consistent"),
    ("We will let you know of any changes.", "changes"),
    ("The error did not change after the retry.", "changes"),
    ("Update: still failing at 11:40 GMT", "changes"),
    ("If you received this message in error, please delete it.", "error"),
    ("Sorry for the typos, the time here is 3am.", "timestamp"),
    ("Sorry for the typos, the time here is 3am.", "first_failure"),
    ("Our nightly batch requests run at 02:00 GMT.", "timestamp"),
    ("We'll send the next update at 12:00 GMT.", "first_failure"),
    ("We deployed a new build at 10:50 GMT, 20 minutes before the first error.", "first_failure"),
    ("Since you asked: we are fine.", "first_failure"),
    ("We called our partner - no luck.", "partner_id"),
    ("Our partner Bob is on holiday.", "partner_id"),
    ("Partner ID: will send later", "request_id"),
    ("Order number 12345678 came through fine.", "phone"),
    ("Call me back on my mobile.", "phone"),
    ("This is urgent!", "name"),
    ("This is not a drill.", "name"),
    ("I'm based in India and work nights.", "marketplace"),
    ("Our IT team is looking at it.", "marketplace"),
    ("Error? No idea yet.", "error"),
    ("The requests are slow.", "problem"),
    ("Happy to help with anything.", "problem"),
    ("Hi Tel Aviv team: ping", "phone"),
    ("> The first error was at 09:00 GMT.\n> Our partner id is OldCo.", "first_failure"),
    ("> The first error was at 09:00 GMT.\n> Our partner id is OldCo.", "partner_id"),
    ("Thanks,\nAlice Engineer\nSRE | Acme\nMobile +1 206 555 0100\nalice@partner.test", "phone"),
    ("Thanks,\nAlice Engineer\nSRE | Acme\nMobile +1 206 555 0100\nalice@partner.test", "email"),
    ("Cheers,\nBob\n--\nAcme Ltd. Partner since 2019. If you got this in error, tell us.", "error"),
    # a second batch, measured like SECOND: 20 of 27 rightly not taken at first (the 27th, "Our customers in the US
    # love gift cards", does name the marketplace and is no longer here)
    ("Our phone lines are down too, but that's a separate telecom issue.", "phone"),
    ("Let's sync at 3pm tomorrow.", "timestamp"),
    ("Let's sync at 3pm tomorrow.", "first_failure"),
    ("The card design team asked about the new serial format.", "card"),
    ("Response times look normal on our dashboards.", "error"),
    ("We are based in Germany but serve all EU markets.", "marketplace"),
    ("Every morning we run a health check at 06:00 UTC.", "first_failure"),
    ("Every morning we run a health check at 06:00 UTC.", "timestamp"),
    ("Every morning we run a health check at 06:00 UTC.", "consistent"),
    ("The name of the game is patience.", "name"),
    ("This is Acme's third outage this year.", "name"),
    ("Partner onboarding is complete since March.", "partner_id"),
    ("We changed our minds about the meeting.", "changes"),
    ("Since Monday we have had no issues until today.", "first_failure"),
    ("The request for a callback was sent to your team.", "phone"),
    ("Request volume is normal: about 2000 per minute.", "request_id"),
    ("Error rates on other APIs are fine.", "problem"),
    ("Error rates on other APIs are fine.", "error"),
    ("Our release notes are at https://docs.partner.test/notes.", "changes"),
    ("I will be online until 18:00 GMT.", "first_failure"),
    ("I will be online until 18:00 GMT.", "timestamp"),
    ("Marketplace team in cc.", "marketplace"),
    ("Time: please hurry", "timestamp"),
    ("Since: forever", "first_failure"),
    ("We always appreciate your fast responses.", "consistent"),
    ("Every call with you has been great.", "consistent"),
    # the third batch's
    ("We first met your team at the summit in 2024.", "first_failure"),
    ("Our card printing vendor is slow this week.", "card"),
    ("My manager is cc'd and will call you at 10:00 GMT.", "timestamp"),
    ("We have a new release process starting next month.", "changes"),
    ("Partner portal login works fine.", "partner_id"),
    ("The previous incident was consistent with a DNS issue.", "consistent"),
    ("Gift cards are our top product in Brazil.", "problem"),
    ("Call volumes are high today.", "phone"),
    ("This is Priority 1 for us.", "name"),
    ("Started the bridge, join when you can.", "first_failure"),
]


@pytest.mark.parametrize("words, key, value", CORPUS)
def test_an_item_in_the_engineers_words(words, key, value):
    found = extract(f"Hi team,\n\n{words}\n\nThanks,\nAlice", "")
    assert key in found, found
    assert value in found[key]


@pytest.mark.parametrize("words, key, value", CORPUS)
def test_the_same_words_in_an_html_mail(words, key, value):
    markup = "<html><body><div>Hi team,</div><div><br></div>" + "".join(
        f"<div>{line}</div>" if line else "<div><br></div>" for line in words.split("\n")
    )
    found = extract("", markup + "<div><br></div><div>Thanks,</div><div>Alice</div></body></html>")
    assert key in found and value in found[key], found


@pytest.mark.parametrize("words, key", NOT_ITEMS)
def test_prose_that_is_no_item(words, key):
    assert key not in extract(f"Hi,\n\n{words}\n", "")


def test_the_corpus_covers_every_required_item_several_times():
    keys = [key for _, key, _ in CORPUS]
    assert len(CORPUS) >= 40
    assert {i.key: keys.count(i.key) >= 4 for i in ITEMS if i.required} == {i.key: True for i in ITEMS if i.required}


# --- whole T1s in the engineers' own words ------------------------------------------------------------------------

GMAIL_PROSE = """Hi AGCOD team,

This is Priya Shah, on call for Acme's payments platform. Since 11:10 GMT every
CreateGiftCard call we make fails with F500 / GeneralError, so our checkout
can't sell gift cards right now.

Our partner id is Acmes. One failing request: AcmesUK20261125111532, sent at
11:15:32 GMT. The first error was at 11:10 GMT. It fails every time, not one
call has gone through since. We have made no changes on our side since last
week's release. This is the UK marketplace (amazon.co.uk).

Call me on +44 20 7946 0321 or email priya.shah@partner.test.

Thanks,
Priya
"""

OUTLOOK_ROWS = [  # (label cell, value cell) as Outlook writes a two-column table: each cell a MsoNormal paragraph
    ("<b>Who's reporting</b>", "Kenji Sato (on-call SRE)"),
    ("<b>Best number to reach me</b>", "+81 90 5555 0134"),
    ("<b>Mail</b>", '<a href="mailto:kenji.sato@partner.test">kenji.sato@partner.test</a>'),
    ("<b>What's happening</b>", "ActivateGiftCard calls from our convenience-store POS time out or return F500."),
    ("<b>Our partner code</b>", "AcmesJP"),
    ("<b>Sample request</b>", "AcmesJP-20261126-0042"),
    ("<b>Card serial</b>", "1400000005567580"),
    (
        "<b>What the API sends back</b>",
        "{&quot;errorCode&quot;:&quot;F500&quot;,&quot;errorType&quot;:&quot;GeneralError&quot;}",
    ),
    ("<b>Marketplace affected</b>", "Japan (amazon.co.jp)"),
    ("<b>Time of the sample request</b>", "2026-11-26 01:12:09 UTC"),
    ("<b>Started failing at</b>", "approx. 00:55 UTC"),
    ("<b>Is it consistent or intermittent?</b>", "Intermittent, roughly 1 in 3 activations fail"),
    ("<b>Recent changes on our end?</b>", "POS firmware 7.4 rolled out on 24 Nov; nothing since."),
]
OUTLOOK_TABLE = (
    '<html><head><style>td {border:1px solid #999}</style></head><body>\n<p class="MsoNormal">Hello,</p>'
    '<p class="MsoNormal">our POS cannot activate physical cards. Details:</p>\n'
    '<table class="MsoTableGrid" border="1">\n'
    + "".join(
        f'<tr><td><p class="MsoNormal">{label}</p></td><td><p class="MsoNormal">{value}</p></td></tr>\n'
        for label, value in OUTLOOK_ROWS
    )
    + '</table>\n<p class="MsoNormal">&nbsp;</p><p class="MsoNormal">Kind regards,</p><p class="MsoNormal">Kenji</p>'
    "\n</body></html>"
)

IPHONE_TERSE = """CreateGiftCard down for us - all calls return HTTP 500 since ~14:20 GMT.

partner: AcmesDE
req id AcmesDE0099812 @ 14:31:07 GMT
error 'F500' GeneralError
DE marketplace
every single call fails
no deploys today
Jonas Weber, +49 151 5555 0199, jonas.weber@partner.test

Sent from my iPhone
"""

THUNDERBIRD_HEADINGS = """Hello,

AGCOD outage on our side of the world, details below.

Contact
Maria Rossi

Phone
+39 02 5555 0142

E-mail
maria.rossi@partner.test

Description of the problem
Since 07:30 GMT CreateGiftCard returns 'F500' GeneralError for every request
from our Italian shop; gift card sales are switched off.

Partner - AcmesIT
Request ID of a failing call - AcmesIT0007781
Time of that request - 07:41:19 GMT
API error returned - 'F500' GeneralError
Marketplace affected - IT
Approximate time of first error - 07:30 GMT
Consistent? - yes, 100% failure rate
Changes on our end - none

Grazie,
Maria
"""

JAPANESE_BULLETS = """Amazon ご担当者様

株式会社パートナーの山田と申します。
本日 09:40 JST 頃から、CreateGiftCard のリクエストがすべて F500 で失敗しています。

・パートナーID：Acmes
・失敗したリクエストの例：AcmesJP0000123（10:02:11 JST）
・エラー応答：'F500' GeneralError
・対象マーケットプレイス：日本
・発生状況：毎回失敗します
・最近の変更：ありません
・連絡先：03-5555-0123 / yamada@partner.test

よろしくお願いいたします。
"""

GMAIL_HTML_PROSE = (
    '<div dir="ltr"><div>Hi,</div><div><br></div><div>Tom Baker here, on call at Acme. Our Incentives API '
    "integration has been failing since 16:05 GMT: every CreateGiftCard request gets "
    "<b>HTTP 503 Service Unavailable</b>.</div><div><br></div><div>Partner id is AcmesUS. An example request: "
    "AcmesUS20261125160944 at 16:09:44 GMT.</div><div>It's consistent, no request has succeeded since 16:05. No "
    "deployments on our side in the last two weeks. US marketplace.</div><div><br></div><div>Reach me on "
    "+1 425 555 0175 or tom.baker@partner.test.</div><div><br></div><div>Thanks,</div><div>Tom</div></div>"
)

COMPLETE = {  # name: (text, html, physical)
    "gmail plain prose": (GMAIL_PROSE, "", False),
    "outlook html table, own labels": ("", OUTLOOK_TABLE, True),
    "iphone terse lines": (IPHONE_TERSE, "", False),
    "thunderbird headings and dashes": (THUNDERBIRD_HEADINGS, "", False),
    "japanese bullets": (JAPANESE_BULLETS, "", False),
    "gmail html prose": ("", GMAIL_HTML_PROSE, False),
}


@pytest.mark.parametrize("name", sorted(COMPLETE))
def test_a_complete_t1_in_the_engineers_words_lacks_nothing(name):
    text, html, physical = COMPLETE[name]
    assert is_physical(text or html) is physical
    found = extract(text, html)
    assert [i.key for i in missing(found, physical)] == [], found


def test_values_from_own_words_are_the_values():
    found = extract(GMAIL_PROSE, "")
    assert found["partner_id"] == "Acmes" and found["request_id"] == "AcmesUK20261125111532"
    assert found["timestamp"] == "11:15:32 GMT" and found["first_failure"] == "11:10 GMT"
    assert found["name"] == "Priya Shah" and found["email"] == "priya.shah@partner.test"
    assert found["phone"] == "+44 20 7946 0321" and found["marketplace"] == "UK marketplace"
    table = extract("", OUTLOOK_TABLE)
    assert table["name"] == "Kenji Sato (on-call SRE)" and table["partner_id"] == "AcmesJP"
    assert table["first_failure"] == "approx. 00:55 UTC" and table["card"] == "1400000005567580"
    assert table["error"].startswith('{"errorCode":"F500"')
    terse = extract(IPHONE_TERSE, "")
    assert terse["request_id"] == "AcmesDE0099812" and terse["timestamp"] == "14:31:07 GMT"
    assert terse["first_failure"] == "14:20 GMT" and terse["name"] == "Jonas Weber"


# --- T1s that really lack items: those, and only those, are named ------------------------------------------------

LACKING = {
    "prose without request id or its time": (
        "Hi,\n\nThis is Tom Baker from Acme. CreateGiftCard has been failing with F500 since 16:05 GMT in the US "
        "marketplace.\nPartner ID: Acmes. It fails every time. No changes on our side.\n"
        "Call me at +1 425 555 0175 or mail tom.baker@partner.test.\n\nThanks, Tom\n",
        "",
        ["request_id", "timestamp"],
    ),
    "table with placeholders": (
        "",
        "<table><tr><td>Contact</td><td>Alice Engineer</td></tr><tr><td>Phone</td><td>+1 206 555 0100</td></tr>"
        "<tr><td>Mail</td><td>alice@partner.test</td></tr>"
        "<tr><td>What's happening</td><td>CreateGiftCard returns F500 for every call</td></tr>"
        "<tr><td>Partner</td><td>Acmes</td></tr><tr><td>Sample request ID</td><td>(will send shortly)</td></tr>"
        "<tr><td>API error returned</td><td>'F500' GeneralError</td></tr><tr><td>Marketplace affected</td>"
        "<td>?</td></tr><tr><td>Time of the sample request</td><td>11:32:06 GMT</td></tr>"
        "<tr><td>Started failing at</td><td>11:15 GMT</td></tr><tr><td>Consistent?</td><td>Yes</td></tr>"
        "<tr><td>Recent changes on our end?</td><td>None</td></tr></table>",
        ["request_id", "marketplace"],
    ),
    "the phone only in the signature, the first error only in a quote": (
        "Hi,\n\nCreateGiftCard fails with F500 on every call in the US marketplace. Partner id is Acmes, example "
        "request Acmes3324500H2 sent at 11:32:06 GMT. We have not changed anything. This is Alice Engineer, "
        "email alice@partner.test.\n\nThanks,\nAlice Engineer\nSRE | Acme\nMobile +1 206 555 0100\n\n"
        "> Bob wrote: the first error was at 11:15 GMT\n",
        "",
        ["phone", "first_failure"],
    ),
    "a physical card T1 without the card": (
        "Hi,\nThis is Liam Nguyen. Physical card activation fails at our Australian retail stores since 02:10 GMT; "
        "ActivateGiftCard returns F500 for every card we scan.\nPartner ID: Acmes\nSample request: AcmesAU0099120 "
        "(02:31:44 GMT)\nMarketplace: AU\nNo changes on our end. Reach me on +61 2 5550 1234 or "
        "liam.nguyen@partner.test.\n",
        "",
        ["card"],
    ),
}


@pytest.mark.parametrize("name", sorted(LACKING))
def test_a_t1_lacking_items_names_exactly_those(name):
    text, html, lacking = LACKING[name]
    found = extract(text, html)
    assert [i.key for i in missing(found, is_physical(text or html))] == lacking, found


def test_every_item_the_corpus_names_exists():
    assert {key for _, key, _ in CORPUS} | {key for _, key in NOT_ITEMS} <= set(ITEM)


def test_the_labels_of_the_field_report_that_drew_a_false_notice():
    body = (
        "Hi,\n\nContact: Alice Engineer\nPhone: +1 206 555 0100\nEmail: alice@partner.test\n"
        "Description of the problem: every CreateGiftCard call returns F500 since 11:10 GMT\n"
        "Partner ID: Acmes\nRequest ID: Acmes3324500H2\nCard serial: 1400000005567580\n"
        "API error returned: 'F500' GeneralError\nMarketplace affected: US\n"
        "Time of the sample request: 11:32:06 GMT\nApproximate time of first error: 11:10 GMT\n"
        "Started failing at: 11:10 GMT\nIs it consistent or intermittent? Consistent\n"
        "Recent changes on our end? None\n\nThanks,\nAlice\n"
    )
    found = extract(body, "")
    assert missing(found, physical=True) == []
    assert found["problem"] == "every CreateGiftCard call returns F500 since 11:10 GMT"
    assert (found["card"], found["error"], found["marketplace"]) == ("1400000005567580", "'F500' GeneralError", "US")
    assert (found["timestamp"], found["first_failure"]) == ("11:32:06 GMT", "11:10 GMT")
    assert (found["consistent"], found["changes"]) == ("Consistent", "None")
