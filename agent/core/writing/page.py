"""A mail's body as a `Page` of blocks, written twice: as text/plain and as text/html. Pure.

Every mail the agent writes is a Page (compose builds the T2/T3 one; a notice's words, from notices.py, are read
with `blocks`). The text reads well in a proportional font: short paragraphs, "Label: value" lines, "- " lists,
"> " quotes, nothing aligned with spaces. The HTML is built here with html.escape, no template engine: every
string goes through `_e`, so text taken from a mail shows as the characters it is, never as markup. It is made for
the mail clients a vendor's executive and an engineer's phone use: inline CSS only (Outlook and Gmail drop
<style> blocks), nothing fetched (no images, fonts, stylesheets, links or scripts), tables with explicit widths
and borders for Outlook's Word renderer (no flexbox or grid), a 640 px column that shrinks to a phone's width,
long words (Message-IDs, addresses) broken rather than scrolled, and no colours behind text: the client's own
text colour on its own background reads in light and dark mode alike."""

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Para:
    text: str
    strong: bool = False


@dataclass(frozen=True)
class Heading:
    """A line that introduces the block after it ("What happened (times in GMT):")."""

    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """Label and value cells, bordered; a row whose value is None is marked as missing."""

    rows: tuple[tuple[str, str | None], ...]
    missing: str = "MISSING"
    why: str = ""  # after the mark: "(the procedure requires it)"


@dataclass(frozen=True)
class Quote:
    """A quoted mail: its header lines (label, value), then its text, or the server's words alone."""

    head: tuple[tuple[str, str], ...] = ()
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Strip:
    """A compact pass/fail strip (the API check's recent runs, oldest first): True a pass, False a failure."""

    marks: tuple[bool, ...]
    caption: str


Block = Para | Heading | Bullets | Table | Quote | Strip


@dataclass(frozen=True)
class Page:
    title: str  # the heading of the HTML part (the text part has the Subject for it)
    blocks: tuple[Block, ...]
    footer: str = ""


def blocks(source: str) -> tuple[Block, ...]:
    """Words written as notices.py writes them, as blocks. Blocks are separated by a blank line; a block of "- "
    lines is a list, of "> " lines a quote (the server's words), of "label<TAB>value" lines a table; any other
    block is a paragraph. notices.py puts untrusted text on one line, without tabs (`text.one_line`, in
    agent.core.reading)."""
    out: list[Block] = []
    for chunk in source.strip().split("\n\n"):
        lines = [line.rstrip() for line in chunk.strip("\n").splitlines() if line.strip()]
        if not lines:
            continue
        if all(line.startswith("- ") for line in lines):
            out.append(Bullets(tuple(line[2:] for line in lines)))
        elif all(line.startswith(">") for line in lines):
            out.append(Quote(lines=tuple(line[1:].removeprefix(" ") for line in lines)))
        elif all("\t" in line for line in lines):
            out.append(Table(tuple((a.strip(), b.strip()) for a, _, b in (line.partition("\t") for line in lines))))
        else:
            out.append(Para(" ".join(line.strip() for line in lines)))
    return tuple(out)


# -- text/plain --------------------------------------------------------------------------------------------------
def field(label: str, value: str) -> str:
    """`Label: value`; a label that is a question keeps its question mark (`Is the behavior consistent? Yes`)."""
    return f"{label} {value}" if label.endswith(("?", ":")) else f"{label}: {value}"


def _text_block(block: Block) -> list[str]:
    if isinstance(block, Para | Heading):
        return [block.text]
    if isinstance(block, Bullets):
        return [f"- {item}" for item in block.items]
    if isinstance(block, Table):
        return [field(k, v if v is not None else f"{block.missing} {block.why}".strip()) for k, v in block.rows]
    if isinstance(block, Strip):
        return [f"{block.caption} (+ passed, x failed): {''.join('+' if ok else 'x' for ok in block.marks)}"]
    head = [field(k, v) for k, v in block.head]
    body = [f"> {line}" if line.strip() else ">" for line in block.lines]
    return head + ([""] if head and body else []) + body


def text(page: Page) -> str:
    out: list[str] = []
    for i, block in enumerate(page.blocks):
        if i and not isinstance(page.blocks[i - 1], Heading):
            out.append("")
        out += _text_block(block)
    if page.footer:
        out += ["", "-- ", page.footer]
    return "\n".join(out) + "\n"


# -- text/html ---------------------------------------------------------------------------------------------------
FONT = "font-family:Arial,Helvetica,sans-serif"
WRAP = "overflow-wrap:anywhere;word-wrap:break-word;word-break:break-word"  # a 90-character Message-ID breaks
RULE = "1px solid #8c8c8c"  # a mid grey: visible on a light background and a dark one
MARK = "#d93025"  # the missing item's mark: a red readable on white and on a dark mode's near-black
PASS = "#1e8e3e"  # a passed probe's mark: a green readable on white and on near-black
COLUMN = 640  # px: Outlook's Word renderer takes the width attribute; everyone else shrinks to the screen
LABELS = 38  # per cent of a table for its labels


def _e(value: str) -> str:
    return escape(value, quote=True)


def _cell(tag: str, content: str, attrs: str = "", extra: str = "") -> str:
    style = f"padding:6px 8px;border:{RULE};text-align:left;vertical-align:top;{WRAP}{extra}"
    return f'<{tag}{attrs} align="left" valign="top" style="{style}">{content}</{tag}>'


def _table(block: Table) -> str:
    rows = []
    for label, value in block.rows:
        if value is None:
            mark = f'<strong style="color:{MARK}">{_e(block.missing)}</strong>'
            shown = f"{mark} {_e(block.why)}".rstrip()
        else:
            shown = _e(value)
        th = _cell("th", _e(label), f' scope="row" width="{LABELS}%"', f";width:{LABELS}%;font-weight:bold")
        rows.append(f"<tr>{th}{_cell('td', shown)}</tr>")
    return (
        f'<table width="100%" cellpadding="0" cellspacing="0" border="1" style="width:100%;border-collapse:collapse;'
        f'table-layout:fixed;border:{RULE};margin:0 0 16px;font-size:14px;line-height:20px">\n'
        + "\n".join(rows)
        + "\n</table>"
    )


def _lines(lines: Iterable[str]) -> str:
    """Text lines as paragraphs of <br>-joined lines, a blank line between paragraphs."""
    paras: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paras[-1].append(_e(line.strip()))
        elif paras[-1]:
            paras.append([])
    return "\n".join(f'<p style="margin:0 0 10px;{WRAP}">{"<br>".join(p)}</p>' for p in paras if p)


def _quote(block: Quote) -> str:
    head = "".join(
        f'<p style="margin:0;{WRAP}"><strong>{_e(k.rstrip(":"))}:</strong> {_e(v)}</p>' for k, v in block.head
    )
    body = _lines(block.lines)
    gap = '<p style="margin:0 0 10px"></p>' if head and body else ""
    return (
        f'<blockquote style="margin:0 0 16px;padding:2px 0 2px 12px;border-left:3px solid #8c8c8c;{WRAP}">'
        f"{head}{gap}{body}</blockquote>"
    )


def _strip(block: Strip) -> str:
    """One mark a run, its colour on the text (never behind it), its shape telling pass from failure without colour: a
    line of characters, so that on a phone it wraps rather than scrolls."""
    marks = "".join(
        f'<span style="color:{PASS}">&#10003;</span>' if ok else f'<span style="color:{MARK}">&#10007;</span>'
        for ok in block.marks
    )
    return (
        f'<p style="margin:0 0 4px;font-size:13px;line-height:18px;{WRAP}">{_e(block.caption)}</p>'
        f'<p style="margin:0 0 16px;font-size:15px;line-height:20px;letter-spacing:2px;{WRAP}">{marks}</p>'
    )


def _html_block(block: Block) -> str:
    if isinstance(block, Para):
        inner = f"<strong>{_e(block.text)}</strong>" if block.strong else _e(block.text)
        return f'<p style="margin:0 0 16px;{WRAP}">{inner}</p>'
    if isinstance(block, Heading):
        return f'<h2 style="margin:20px 0 8px;font-size:16px;line-height:22px;{WRAP}">{_e(block.text.rstrip(":"))}</h2>'
    if isinstance(block, Bullets):
        items = "\n".join(f'<li style="margin:0 0 6px;{WRAP}">{_e(i)}</li>' for i in block.items)
        return f'<ul style="margin:0 0 16px;padding:0 0 0 22px">\n{items}\n</ul>'
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Strip):
        return _strip(block)
    return _quote(block)


def html(page: Page) -> str:
    """The page as a whole HTML document, every style inline."""
    content = "\n".join(_html_block(b) for b in page.blocks)
    footer = (
        f'<p style="margin:24px 0 0;padding:8px 0 0;border-top:{RULE};font-size:13px;line-height:18px;{WRAP}">'
        f"{_e(page.footer)}</p>"
        if page.footer
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="supported-color-schemes" content="light dark">
<title>{_e(page.title)}</title>
</head>
<body style="margin:0;padding:0">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="width:100%;\
border-collapse:collapse">
<tr><td align="left" valign="top" style="padding:16px 12px">
<table role="presentation" width="{COLUMN}" cellpadding="0" cellspacing="0" border="0" style="width:100%;\
max-width:{COLUMN}px;border-collapse:collapse">
<tr><td align="left" valign="top" style="{FONT};font-size:15px;line-height:22px;{WRAP}">
<h1 style="margin:0 0 14px;font-size:20px;line-height:26px;{WRAP}">{_e(page.title)}</h1>
{content}
{footer}
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
"""
