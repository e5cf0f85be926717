"""Writes the non-ASCII mails of this corpus in the charset and transfer encoding each client uses.

Re-runnable and deterministic (fixed dates, ids and boundaries): `python tests/corpus/make_corpus.py`.
The ASCII mails next to it are written by hand, as saved from their clients.
"""

import base64
import quopri
from pathlib import Path

HERE = Path(__file__).resolve().parent


def b_word(text: str, charset: str, chunk: int = 12) -> str:
    """An RFC 2047 B encoded-word per `chunk` characters: each stateful ISO-2022-JP piece stays whole."""
    words = []
    for i in range(0, len(text), chunk):
        data = base64.b64encode(text[i : i + chunk].encode(charset)).decode()
        words.append(f"=?{charset}?B?{data}?=")
    return "\r\n ".join(words)


def q_word(text: str, charset: str) -> str:
    out = "".join(
        c
        if c.isascii() and (c.isalnum() or c in "-!*+/")
        else "_"
        if c == " "
        else "".join(f"={b:02X}" for b in c.encode(charset))
        for c in text
    )
    return f"=?{charset}?Q?{out}?="


def qp(text: str, charset: str) -> bytes:
    return quopri.encodestring(text.encode(charset)).replace(b"\n", b"\r\n")


def b64(text: str, charset: str) -> bytes:
    data = base64.encodebytes(text.encode(charset))  # 76-character lines, as MIME wants
    return data.replace(b"\n", b"\r\n")


def flowed(text: str, width: int = 76) -> str:
    """format=flowed as Gmail's plain-text mode sends it: long lines broken after a space (soft break)."""
    out = []
    for line in text.split("\n"):
        while len(line) > width and " " in line[:width]:
            cut = line.rindex(" ", 0, width) + 1
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    return "\n".join(out)


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("ascii")


def write(name: str, headers: str, body: bytes) -> None:
    (HERE / name).write_bytes(crlf(headers.strip("\n") + "\n\n") + body)


GMAIL_BODY = """Hi AGCOD team,

We have an outage on the Incentives API for our UK business and need urgent help.

Contact phone number: +44 20 7946 0958
Contact email: priya.shah@partner.test
Contact name: Priya Shah
Brief problem description: Beginning at approximately 08:02 GMT every CreateGiftCard request to the EU endpoint is timing out after 30 s and the few that return give an F500. Our customers cannot buy gift cards at checkout — we switched the gift card tile off at 08:20 GMT.
Partner ID - Acmes
RequestID = AcmesUK20261125080455
API error: {"errorCode":"F500","errorType":"GeneralError","message":"We're sorry, something went wrong"}
Marketplace: amazon.co.uk
Timestamp of example request (with time zone): 2026-11-25 08:04:55 GMT
First error at: 08:02:13 GMT
Consistent? Yes, 100% of requests since 08:02 GMT
Recent changes: none on our side; our last deployment was on 2026-11-18.

The raw request with headers is attached as soon as I can pull it from the proxy logs.

Thanks,
Priya

-- 
Priya Shah · Payments Platform · Partner Ltd
"""

ISO2022JP_SUBJECT = "【緊急】Incentives API 障害：全リクエストが F500 で失敗"
ISO2022JP_BODY = """Amazon Incentives API サポートチーム 御中

いつもお世話になっております。株式会社パートナーの山田です。
本日 20:15 JST 頃より、CreateGiftCard の全リクエストが F500 エラーで失敗しております。
至急ご確認をお願いいたします。

■Contact phone number（電話番号）：+81-3-3123-4567
■Contact email（メールアドレス）：yamada@partner.test
■Contact name（担当者名）：山田 太郎 / Taro Yamada
■問題の概要：2026/11/25 20:15 JST 頃から、すべてのリクエストが F500 で失敗しています。
POS でのギフトカード販売を停止しました。
■Partner ID：Acmes
■Request ID：Acmes3324500H2
■Example API error response：'F500' GeneralError
■マーケットプレイス：JP
■タイムスタンプ（JST）：2026/11/25 20:32:06 JST
■最初のエラー発生時刻：2026/11/25 20:15:06 JST（11:15:06 GMT）
■再現性：はい、20:15 以降のリクエストはすべて失敗しています。
■最近の変更：ありません（直近2か月はリリースなし）。

以上、よろしくお願いいたします。

--
山田 太郎 (Taro Yamada)
株式会社パートナー 決済基盤チーム
"""

SJIS_SUBJECT = "物理カードのアクティベーション失敗（ActivateGiftCard F500）"
SJIS_BODY = """Amazon ご担当者様

株式会社パートナーの佐藤です。
店頭（コンビニ）での物理カードのアクティベーションが 09:40 JST から失敗しています。

【パートナーID】Acmes
【リクエストID】AcmesAct0001942
【シリアル番号】1400000005567580
【エラー】'F500' GeneralError
【マーケットプレイス】日本
【発生時刻】2026/11/26 09:40 JST
【電話番号】03-5555-0123
【メールアドレス】sato@partner.test
【担当者名】佐藤 花子

よろしくお願いいたします。
"""

GB2312_SUBJECT = "紧急：Incentives API 故障，所有请求返回 F500"
GB2312_BODY = """您好，

自北京时间 19:05 起，我们所有的 CreateGiftCard 请求均返回 F500 错误，业务已受影响。

联系电话：+86 10 5555 0188
联系邮箱：wang.lei@partner.test
联系人：王磊
问题描述：自 11:05 GMT 起所有请求均失败，返回 F500。我们已暂停礼品卡销售。
合作伙伴ID：Acmes
请求ID：AcmesCN0007731
错误响应：'F500' GeneralError
市场：中国
时间戳：2026-11-25 11:21:40 GMT
首次失败时间：2026-11-25 11:05:02 GMT
是否持续：是，所有请求都失败。
最近变更：无。

谢谢！
王磊
"""

CP1252_SUBJECT = "Incentives API – “F500” on every request (FR)"
CP1252_BODY = """Hello,

Since ~13:40 GMT all our calls fail. Details as per your SOP:

Contact phone number: +33 1 70 36 00 00
Contact email: helene.dupre@partner.test
Contact name: Hélène Dupré
Brief problem description: every CreateGiftCard call returns “F500 – GeneralError”; we’ve paused the gift card offer on our café loyalty app…
Partner ID: Acmes
Example request ID: AcmesFR0025519
Example API error response: “F500” GeneralError
Marketplace: France
Timestamp of example request: 13:52:10 GMT
Time of first failing request: 13:40:55 GMT
Is the behavior consistent? Yes – every request.
Recent changes: none (last release 12 Nov).

Merci,
Hélène
"""

UTF8_SUBJECT = "URGENTE: Incentives API caída – F500 en todas las peticiones"
UTF8_BODY = """Hola equipo,

**Contact phone number**: +34 910 00 00 00
**Contact email**: jose.nunez@partner.test
**Contact name**: José Núñez
**Problem**: desde las 10:03 GMT todas las peticiones CreateGiftCard devuelven F500; hemos desactivado las tarjetas regalo en la tienda.
**Partner ID**: Acmes
**Request Id**: AcmesES0042287
**Error response**: 'F500' GeneralError
**Marketplace**: España
**Timestamp**: 10:11:45 GMT
**First failure**: 10:03:20 GMT
**Consistent?** Sí, el 100 % de las peticiones.
**Recent changes**: ninguno en los últimos 30 días.

Gracias,
José Núñez · Equipo de Pagos
"""


def main() -> None:
    write(
        "gmail_plain_flowed.eml",
        """
MIME-Version: 1.0
Date: Wed, 25 Nov 2026 08:31:17 +0000
Message-ID: <CAH7yZk1s0F8xq-Vb2mXz9kY3n0TqPp4w@mail.gmail.test>
Subject: Incentives API outage: every CreateGiftCard call times out (UK)
From: Priya Shah <priya.shah@partner.test>
To: urgent@vendor.test
Cc: watch@partner.test, oncall@partner.test
Content-Type: text/plain; charset="UTF-8"; format=flowed
Content-Transfer-Encoding: quoted-printable
""",
        qp(flowed(GMAIL_BODY), "utf-8"),
    )

    write(
        "japanese_iso2022jp.eml",
        f"""
Message-ID: <5f3c2a10-7d41-4e0b-9a55-2b8c1e6d9f01@partner.test>
Date: Wed, 25 Nov 2026 20:40:12 +0900
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: ja
From: {b_word("山田 太郎", "ISO-2022-JP")} <yamada@partner.test>
To: urgent@vendor.test
Cc: watch@partner.test
Subject: {b_word(ISO2022JP_SUBJECT, "ISO-2022-JP")}
Content-Type: text/plain; charset=ISO-2022-JP
Content-Transfer-Encoding: 7bit
""",
        ISO2022JP_BODY.replace("\n", "\r\n").encode("iso-2022-jp"),
    )

    write(
        "japanese_shift_jis.eml",
        f"""
Message-ID: <20261126095512.A1B2C3@mail.partner.test>
Date: Thu, 26 Nov 2026 09:55:12 +0900
From: {b_word("佐藤 花子", "Shift_JIS")} <sato@partner.test>
To: urgent@vendor.test
Cc: watch@partner.test
Subject: {b_word(SJIS_SUBJECT, "Shift_JIS", 20)}
MIME-Version: 1.0
Content-Type: text/plain; charset="Shift_JIS"
Content-Transfer-Encoding: base64
X-Mailer: Becky! ver. 2.81.04
""",
        b64(SJIS_BODY.replace("\n", "\r\n"), "shift_jis"),
    )

    write(
        "chinese_gb2312.eml",
        f"""
Date: Wed, 25 Nov 2026 19:30:05 +0800
From: "{b_word("王磊", "gb2312")}" <wang.lei@partner.test>
To: urgent <urgent@vendor.test>
Cc: watch <watch@partner.test>
Subject: {b_word(GB2312_SUBJECT, "gb2312", 16)}
X-Priority: 1
X-Mailer: Foxmail 7.2.25.228[cn]
Mime-Version: 1.0
Message-ID: <202611251930050462381@partner.test>
Content-Type: multipart/alternative;
\tboundary="----=_001_NextPart413760316174_=----"

This is a multi-part message in MIME format.
""",
        crlf(
            "\n------=_001_NextPart413760316174_=----\n"
            'Content-Type: text/plain;\n\tcharset="gb2312"\nContent-Transfer-Encoding: base64\n\n'
        )
        + b64(GB2312_BODY, "gb2312")
        + crlf("\n------=_001_NextPart413760316174_=------\n\n"),
    )

    write(
        "windows1252.eml",
        f"""
From: =?windows-1252?Q?H=E9l=E8ne_Dupr=E9?= <helene.dupre@partner.test>
To: urgent@vendor.test
CC: watch@partner.test
Subject: {q_word(CP1252_SUBJECT, "windows-1252")}
Date: Wed, 25 Nov 2026 14:02:41 +0100
Message-ID: <PR1P264MB0123A1B2C3D4E5F6A7B8C9D0E1F2@PR1P264MB0123.FRAP264.PROD.OUTLOOK.TEST>
Accept-Language: fr-FR, en-US
Content-Language: fr-FR
X-MS-Has-Attach:
Content-Type: text/plain; charset="windows-1252"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0
""",
        qp(CP1252_BODY, "cp1252"),
    )

    write(
        "utf8.eml",
        f"""
Message-ID: <b7e9d3c2-1f0a-4c5e-8d2b-93a1f6c4e870@partner.test>
Date: Wed, 25 Nov 2026 11:15:03 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
From: =?UTF-8?B?{base64.b64encode("José Núñez".encode()).decode()}?= <jose.nunez@partner.test>
To: urgent@vendor.test
Cc: watch@partner.test
Subject: {q_word(UTF8_SUBJECT, "UTF-8")}
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit
""",
        UTF8_BODY.replace("\n", "\r\n").encode("utf-8"),
    )


if __name__ == "__main__":
    main()
