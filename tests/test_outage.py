"""One outage, one ladder (issue 21.4): the rule that joins a second T1 to an open incident, with T1s written as two
engineers write them, and what joining does (effects). Literal mails; no database."""

from datetime import timedelta

from test_effects import SETTINGS, T0

from agent.core.deciding.classify import Classification, Kind
from agent.core.deciding.consequences import effects
from agent.core.deciding.effect import Arrival, Event, Join, Notify, Open
from agent.core.procedure import items, outage, routing
from agent.core.procedure.outage import Outage, Sameness
from agent.core.procedure.policy import Incident, State
from agent.core.reading.mail import parse

# Alice fills in the SOP's table, labels and all (Outlook).
ALICE = """Contact phone number: +1-555-0100
Contact email: alice@partner.test
Contact name: Alice Engineer
Brief problem description: Beginning at approximately 11:15 GMT all requests are failing with an F500 error.
Partner ID: Acmes
Example request ID: Acmes3324500H2
Example API error response: 'F500' GeneralError
Marketplace: US
Timestamp of example request: 11:32:06 GMT
Time of first failing request: 11:15:06 GMT
Is the behavior consistent? Yes, every request since 11:15 GMT has been failing.
Recent changes: No.
"""
# Bob, two seconds later, in his own words (Gmail, on his phone).
BOB = """Hi,

Our gift card redemptions are down since 11:15 UTC.

Partner ID - ACMES
Marketplace: Amazon.com (US)
Error: HTTP 500 with F500 General Error on every call
Request id: Acmes3324500J7

Bob
"""


def outage_of(text: str, subject: str = "Incentives API down") -> Outage:
    found = items.extract(text, "")
    return outage.of(found, routing.marketplace(found, text, subject))


def test_the_same_outage_worded_differently_by_two_engineers_is_one():
    alice, bob = outage_of(ALICE), outage_of(BOB)
    assert (alice.partner_id, alice.marketplace, alice.error_code) == ("acmes", "US", "F500")
    assert outage.same(bob, alice) == Sameness.SAME
    found = outage.match(bob, [(7, alice)])
    assert (found.incident_id, found.reason) == (7, Sameness.SAME)


def test_another_marketplace_is_another_incident():
    de = outage_of(ALICE.replace("Marketplace: US", "Marketplace: DE"))
    assert outage.same(de, outage_of(ALICE)) == Sameness.OTHER_MARKETPLACE
    assert outage.match(de, [(7, outage_of(ALICE))]).incident_id is None


def test_another_error_is_another_incident():
    f300 = outage_of(BOB.replace("F500 General Error", "F300 InvalidRequest"))
    assert outage.same(f300, outage_of(ALICE)) == Sameness.OTHER_ERROR


def test_a_missing_partner_id_leaves_two_incidents():
    anonymous = outage_of(BOB.replace("Partner ID - ACMES\n", ""))
    assert anonymous.partner_id is None
    assert outage.match(anonymous, [(7, outage_of(ALICE))]) == outage.Match(None, Sameness.NO_PARTNER_ID, anonymous)


def test_unsure_errors_and_marketplaces_leave_two_incidents():
    old = Outage("acmes", "US", "F500", "generalerror")
    assert outage.same(Outage("acmes", None, "F500", None), old) == Sameness.NO_MARKETPLACE
    assert outage.same(Outage("acmes", "US", None, "generalerror"), old) == Sameness.NO_ERROR
    assert outage.same(Outage("acmes", "US", None, None), Outage("acmes", "US", None, None)) == Sameness.NO_ERROR
    # No codes at all: the error's name decides.
    named = Outage("acmes", "US", None, "generalerror")
    assert outage.same(named, named) == Sameness.SAME


def test_the_oldest_open_incident_of_that_outage_is_joined_and_a_miss_names_the_closest_reason():
    alice = outage_of(ALICE)
    other = Outage("acmes", "DE", "F500", None)
    assert outage.match(alice, [(9, alice), (3, other), (5, alice)]).incident_id == 5
    assert outage.match(alice, [(3, other)]).reason == Sameness.OTHER_MARKETPLACE
    assert outage.match(alice, []).reason == Sameness.NO_OPEN_INCIDENT


def _t1(text: str, sender: str = "bob@partner.test") -> bytes:
    return (
        f"From: Bob <{sender}>\r\nTo: urgent@vendor.test\r\nCc: watch@partner.test\r\nSubject: redemptions down\r\n"
        f"Message-ID: <bob-t1@partner.test>\r\nDate: Wed, 25 Nov 2026 11:15:02 +0000\r\n\r\n{text}"
    ).encode()


def test_joining_tells_its_sender_when_the_t2_is_due_and_opens_nothing():
    raw = _t1(BOB.replace("\n", "\r\n"))
    mail = parse(raw)
    c = Classification(Kind.T1, "bob@partner.test wrote to the T1 address")
    match = outage.match(outage_of(BOB), [(4, outage_of(ALICE))])
    incident = Incident(4, State.AWAITING_RESPONSE, T0, t1_message_id="<alice-t1@partner.test>")
    done = effects(Arrival(mail, c, raw, T0 + timedelta(seconds=2), joins=match), incident, SETTINGS, T0)
    assert not any(isinstance(e, Open) for e in done)
    [join] = [e for e in done if isinstance(e, Join)]
    assert join.message_id == "<bob-t1@partner.test>" and join.sender == "bob@partner.test"
    assert join.reason == "same partner id, marketplace and error: partner id acmes, marketplace US, error F500"
    [event] = [e for e in done if isinstance(e, Event)]
    assert event.kind == "t1_joined" and "joined incident 4" in event.detail and event.reason == join.reason
    [notice] = [e for e in done if isinstance(e, Notify)]
    assert notice.subject == "joined incident 4; T2 due at 11:45 GMT"
    assert notice.to == ("bob@partner.test",) and notice.about == "<bob-t1@partner.test>"


def test_a_misrouted_or_stale_t1_opens_its_own_incident_even_when_it_matches():
    raw = _t1(BOB.replace("\n", "\r\n") + "\r\nThe response says Insufficient Funds.\r\n")
    match = outage.Match(4, Sameness.SAME, outage_of(BOB))
    incident = Incident(4, State.AWAITING_RESPONSE, T0)
    c = Classification(Kind.T1, "t1")
    done = effects(Arrival(parse(raw), c, raw, T0, joins=match), incident, SETTINGS, T0)
    assert isinstance(done[0], Open) and done[0].incident.state == State.MISROUTED
