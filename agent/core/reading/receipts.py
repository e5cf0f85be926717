"""Whether a vendor's mail is its case system's receipt ("we have received your request, case 12345678 has been
created ... please do not reply") rather than a person's answer, and which signs say so. Pure.

Case systems (Salesforce Email-to-Case auto-response rules, ServiceNow, Zendesk, Freshdesk, Jira Service Management,
Zoho Desk, HubSpot, AWS-style support centres) acknowledge a mail within seconds, often with no `Auto-Submitted` or
other automatic header at all. Such a receipt must keep the ladder running. A person's first answer must still stop
it, however short ("Looking into it now.") and whatever disclaimer follows it.

The signs, read from the mail's own new text (not the T1 quoted below it):
- `wording`: receipt or case-created wording ("we have received your request", "Ihre Anfrage ist eingegangen",
  "お問い合わせを受け付けました", "您的工单已创建"), in the languages vendors write;
- `declared`: the text says a machine wrote it ("this is an automated message", "do not reply to this e-mail");
- `no_reply`: a no-reply style sender (noreply@, do-not-reply@, notifications@, mailer@ ...);
- `automatic`: an automatic header (agent.core.reading.automatic), when there is one;
- `quick`: the vendor's first mail in the thread, with a case-system tag in its subject, minutes after the T1;
- `person`: words only a person writes: the first person singular, work being done ("we are investigating",
  "looking into it", "rolled back"), a question back, a comment a case system relays ("John added a comment").

The rule: a receipt needs its wording AND one more sign that a machine sent it, and no person's words. When unsure,
a person: the headers (agent.core.reading.automatic) already catch what declares itself a machine, and these are words.
A person's answer taken for a receipt escalates to the vendor's management over an answered case, which the SOP
forbids and the vendor's people see; a receipt taken for a person is what this module exists to prevent, and the
rule is tuned so that every receipt in the corpus (tests/corpus/receipts) carries two signs.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import quotequail

from agent.core.reading import subjects
from agent.core.reading.mail import Mail

QUICK = timedelta(minutes=5)  # a case system answers in seconds; a person who read the T1 rarely does in five minutes

_NO_REPLY = re.compile(
    r"^(?:.*no[-_.]?reply.*|.*do[-_.]?not[-_.]?reply.*|.*dont[-_.]?reply.*|.*no[-_.]?response.*|mailer"
    r"|.*notif(?:y|ications?).*|automated|auto[-_.]?(?:confirm|response|responder|ack)|system|helpdesk[-_.]?bot"
    r"|jira|servicedesk[-_.]?notifications?|case[-_.]?notifications?)$"
)

# Receipt / case-created wording, per language, compared in lower case.
_WORDING = re.compile(
    r"""
    # en
    (?:we\s+have|we've|we)\s+(?:successfully\s+)?received\s+your\s+(?:request|e-?mail|message|inquiry|enquiry|case
        |ticket|support\s+request|submission)
    | your\s+(?:service\s+|support\s+)?(?:request|e-?mail|message|inquiry|enquiry|ticket|case)\s+(?:\S+\s+){0,3}?
        (?:has\s+been|was|is)\s+(?:successfully\s+)?(?:received|logged|created|opened|submitted|registered|recorded)
    | (?:case|ticket|incident|request|support\s+case)\s+(?:number\s+|no\.?\s+|id\s+|\#\s*)?[\w:-]*\d[\w:-]*\s+
        (?:has\s+been|was|is)\s+(?:successfully\s+)?(?:created|opened|logged|raised|registered)
    | (?:a|your)\s+(?:new\s+)?(?:case|ticket|support\s+case|service\s+request)\s+(?:has\s+been|was)\s+
        (?:created|opened|logged|raised)
    | (?:this\s+is\s+(?:an?\s+)?)?(?:automated|automatic)\s+(?:confirmation|acknowledge?ment|receipt)
    | thank\s+you\s+for\s+(?:contacting|your\s+(?:e-?mail|message|request|inquiry|enquiry))\b.{0,200}?
        (?:case|ticket|reference|request\s+(?:number|id))
    | acknowledge?ment\s+of\s+your\s+(?:request|case|e-?mail)
    | request\s+received | case\s+(?:created|opened|received) | ticket\s+(?:created|received|opened)
    # de
    | (?:wir\s+haben\s+ihre\s+(?:anfrage|nachricht|e-?mail|meldung)\s+(?:\S+\s+){0,3}?erhalten)
    | ihre\s+(?:anfrage|nachricht|e-?mail|meldung)\s+(?:\S+\s+){0,4}?(?:ist|wurde)\s+(?:bei\s+uns\s+)?
        (?:eingegangen|erfasst|angelegt|registriert|aufgenommen)
    | ihre\s+(?:anfrage|nachricht|e-?mail|meldung)\s+wurde\s+(?:\S+\s+){0,5}?
        (?:erfasst|angelegt|registriert|aufgenommen)
    | (?:ticket|fall|vorgang|case)(?:nummer)?\s+\S*\d\S*\s+(?:wurde|ist)\s+(?:\S+\s+){0,2}?
        (?:angelegt|erstellt|eröffnet)
    | eingangsbestätigung
    # fr
    | (?:nous\s+avons\s+(?:bien\s+)?reçu\s+votre\s+(?:demande|message|e-?mail|courriel|requête))
    | votre\s+(?:demande|message|requête|ticket|dossier)\s+(?:\S+\s+){0,4}?a\s+(?:bien\s+)?été\s+
        (?:reçue?|enregistrée?|créée?|ouverte?|prise?\s+en\s+compte)
    | accusé\s+de\s+réception
    # es
    | (?:hemos\s+recibido\s+(?:correctamente\s+)?su\s+(?:solicitud|mensaje|correo|consulta|petición|caso|ticket))
    | su\s+(?:solicitud|caso|ticket|consulta)\s+(?:\S+\s+){0,4}?(?:ha\s+sido|fue)\s+
        (?:recibid[oa]|registrad[oa]|cread[oa]|abiert[oa])
    | acuse\s+de\s+recibo
    # it
    | (?:abbiamo\s+ricevuto\s+(?:la\s+sua|la\s+tua|il\s+suo|il\s+tuo)\s+(?:richiesta|messaggio|e-?mail|segnalazione))
    | (?:la\s+sua|la\s+tua)\s+(?:richiesta|segnalazione)\s+(?:\S+\s+){0,4}?è\s+stata\s+
        (?:ricevuta|registrata|creata|aperta)
    | (?:il\s+)?(?:ticket|caso)\s+\S*\d\S*\s+è\s+stato\s+(?:creato|aperto|registrato)
    # ja
    | お問い合わせを受け付け | お問合せを受け付け | 受け付けいたしました | 受付いたしました | 受け付けました
    | ケース(?:番号)?.{0,20}?(?:作成|起票)されました | 受付番号
    # zh
    | 我们已收到 | 已收到您的 | 您的(?:请求|工单|案例|邮件|问题).{0,10}?已(?:创建|收到|提交|受理)
    | 工单.{0,20}?已创建 | 案例.{0,20}?已创建
    """,
    re.IGNORECASE | re.VERBOSE,
)

# The text says a machine wrote it.
_DECLARED = re.compile(
    r"""
    this\s+(?:is\s+an?|e-?mail\s+is\s+an?|message\s+is\s+an?|is\s+a\s+system[-\s]generated)\s+
        (?:automated|automatic|auto-?generated|system[-\s]generated)
    | (?:automatically|system)[-\s]generated | auto-?generated\s+(?:message|e-?mail|notification|response)
    | (?:this|the)\s+(?:e-?mail|message|mailbox|address)\s+(?:is\s+)?(?:was\s+sent\s+from\s+an?\s+)?
        (?:not\s+monitored|unmonitored)
    | (?:do|please\s+do)\s+not\s+reply\s+(?:directly\s+)?to\s+this\s+(?:automated\s+)?(?:e-?mail|message|notification)
    | diese\s+(?:nachricht|e-?mail)\s+wurde\s+automatisch | automatisch\s+(?:generiert|erstellt|versendet)e?
    | (?:ceci\s+est\s+un|ce\s+message\s+est\s+un)\s+(?:message|courriel|e-?mail)\s+automatique
    | message\s+(?:généré\s+)?automatique | merci\s+de\s+ne\s+pas\s+répondre
    | (?:este\s+es\s+un|este)\s+(?:mensaje|correo)\s+(?:electrónico\s+)?(?:automático|generado\s+automáticamente)
    | no\s+responda\s+a\s+este
    | (?:questo\s+è\s+un|questa\s+è\s+una)\s+(?:messaggio|e-?mail|mail|notifica)\s+automatic[ao]
    | non\s+rispondere\s+a\s+questo
    | 自動(?:送信|配信|返信) | このメールは送信専用 | ご返信いただいても
    | 自动(?:发送|生成|回复) | 系统自动 | 请勿(?:直接)?回复
    """,
    re.IGNORECASE | re.VERBOSE,
)

# Words a person writes and a receipt does not.
_PERSON = re.compile(
    r"""
    (?-i:\bI(?:'m|'ve|'ll|'d|\s+(?:am|have|will|was|can|see|checked|think|just|would|need|noticed|looked|found
        |saw|got|understand|believe|spoke|talked|escalated|reached|added|restarted|pinged|asked|sent|know|want)))\b
    | \bmy\s+name\s+is\b | \b(?:to|call|ping|email|contact|let|with)\s+me\b
    | \b(?:we\s+are|we're|am|are|i'm)\s+(?:now\s+|currently\s+|actively\s+)?
        (?:investigating|looking|checking|working|seeing|on\s+it|aware|escalating|engaging|analy[sz]ing)
    | \blooking\s+into\s+(?:it|this|the)\b | \bon\s+it\b | \broot\s+cause\b | \bworkaround\b
    | \b(?:rolled|rolling)\s+back\b | \bmitigat | \bhotfix | \bdeployed\b | \bpager\b | \bbridge\b
    | \bcould\s+you\b | \bcan\s+you\b | \bplease\s+(?:send|share|confirm|check|try|retry)\b
    | \badded\s+a\s+(?:comment|reply|note)\b | \bcommented\s*: | \b(?:replied|responded|commented)\s+(?:to|on)\s+your\b
    | \badditional\s+comments\s+(?:added|by|:) | \bpublic\s+comment\b
    | \bich\s+(?:habe|bin|schaue|prüfe|kümmere)\b | \bwir\s+(?:prüfen|untersuchen|analysieren|arbeiten)\b
    | \bje\s+(?:regarde|vérifie|m'en\s+occupe|suis)\b | \bnous\s+(?:analysons|enquêtons|examinons|travaillons)\b
    | \bestamos\s+(?:revisando|investigando|analizando|trabajando)\b | \b(?:estoy|reviso)\b
    | \bstiamo\s+(?:verificando|analizzando|investigando|lavorando)\b | \bsto\s+(?:verificando|controllando)\b
    | 確認中 | 調査中 | 対応中 | 担当の | 我(?:正在|们正在) | 正在(?:调查|处理|排查|分析)
    """,
    re.IGNORECASE | re.VERBOSE,
)


# The reply delimiter a case system puts above its mails (Zendesk's "##- Please type your reply above this line -##"
# in the requester's language, Jira Service Management's "Reply above this line."): a case system sent it, like a
# case tag in the subject.
_CASE_SYSTEM_MARK = re.compile(r"##-.{1,80}?-##|reply\s+above\s+this\s+line", re.IGNORECASE)


@dataclass(frozen=True)
class Signs:
    """What one vendor mail shows; `receipt` says whether that makes it a machine's acknowledgement."""

    wording: str | None = None
    declared: str | None = None
    no_reply: str | None = None
    automatic: str | None = None
    quick: str | None = None
    person: str | None = None

    @property
    def receipt(self) -> bool:
        machine = self.declared or self.no_reply or self.automatic or self.quick
        return bool(self.wording and machine and not self.person)

    def reason(self) -> str:
        """The signs that fired, for the audit log: `receipt wording "we have received your request"; ...`."""
        named = (
            ("receipt wording", self.wording),
            ("says it is automatic", self.declared),
            ("no-reply sender", self.no_reply),
            ("automatic header", self.automatic),
            ("first vendor mail", self.quick),
            ("a person's words", self.person),
        )
        return "; ".join(
            f"{name} {value!r}" if name != "automatic header" else f"{value}" for name, value in named if value
        )


def signs(
    sender: str,
    new_text: str,
    automatic: str | None,
    tagged: bool,
    after_t1: timedelta | None,
    first: bool,
) -> Signs:
    """The signs in one vendor mail. `new_text`: its own words, without the quoted T1. `tagged`: its subject
    carries a case-system tag (`[Case 12345678]`, `INC0012345`); `after_t1`: how long after the T1 it was sent;
    `first`: no earlier vendor mail in the thread. `tagged` also when a case system's reply delimiter heads it."""
    text = " ".join(new_text.split())
    local = sender.partition("@")[0].lower()
    quick = None
    if tagged and first and after_t1 is not None and after_t1 <= QUICK:
        quick = f"case-tagged, {int(after_t1.total_seconds())} s after the T1"
    return Signs(
        wording=_found(_WORDING, text),
        declared=_found(_DECLARED, text),
        no_reply=sender if local and _NO_REPLY.match(local) else None,
        automatic=automatic,
        quick=quick,
        person=_found(_PERSON, text),
    )


def is_machine_receipt(s: Signs) -> bool:
    """A vendor mail with an automatic header is the vendor's machine's already; it is a receipt (rather than an
    out-of-office) when it carries receipt wording or is the case-tagged first answer."""
    return s.automatic is not None and bool(s.wording or s.quick)


def _found(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return " ".join(m.group().split())[:80] if m else None


def read(
    mail: Mail, case_id_patterns: tuple[str, ...], t1_sent_at: datetime, arrived: datetime | None, first: bool
) -> Signs:
    """The signs in a vendor mail (its body read) in the thread of a T1 sent at `t1_sent_at`; `first`: no earlier
    vendor mail in that thread."""
    tagged = (
        bool(subjects.case_ids(mail.subject, case_id_patterns))
        or subjects.has_case_tag(mail.subject)
        or _CASE_SYSTEM_MARK.search(mail.text) is not None
    )
    sent = mail.date or arrived
    after = None if sent is None else sent - t1_sent_at
    return signs(mail.sender, own_words(mail.text), mail.automatic, tagged, after, first)


def own_words(text: str) -> str:
    """The sender's own words: no quoted block (Outlook's "-----Original Message-----", Gmail's "On ... wrote:"),
    no `>` line. The signature stays: a case system's "do not reply" often stands below a "--"."""
    try:
        parts = quotequail.quote(text or "")
    except Exception:  # a parser's trouble must not cost the judgement: fall back to the `>` rule alone
        parts = [(True, text or "")]
    shown = "\n".join(part for visible, part in parts if visible)
    return "\n".join(line for line in shown.splitlines() if not line.lstrip().startswith(">"))
