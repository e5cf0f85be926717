"""HTML -> the lines a reader sees: table rows as "cell<TAB>cell" lines, blockquotes as "> " lines. Pure."""

import re
from html.parser import HTMLParser

_QUOTE = re.compile(r"^(\s*>)+")


class _Text(HTMLParser):
    """HTML -> lines as the reader sees them: a table row is one "cell<TAB>cell" line (a one-cell row is layout,
    its lines stay lines), a blockquote gives "> " lines, <style> and <head> are dropped."""

    BLOCK = set("p div li ul ol h1 h2 h3 h4 h5 h6 hr pre blockquote table tr td th".split())
    SKIP = set("style script head title".split())

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.cur = ""
        self.tables: list[list[list[str]]] = []  # per open table, its open row's cells (each a list of lines)
        self.skip = self.quote = 0

    def target(self) -> list[str]:
        return next((t[-1] for t in reversed(self.tables) if t), self.lines)

    def boundary(self, tag: str = "") -> None:
        # A blank line only where the reader sees one: <br> on an empty line, <p>&nbsp;</p> (Outlook's).
        text, blank, self.cur = " ".join(self.cur.split()), tag == "br" or (tag == "/" and "\xa0" in self.cur), ""
        if text or blank:
            self.target().append(("> " if self.quote and text else "") + text)

    def close_row(self) -> None:
        cells = [[_QUOTE.sub("", x).strip() for x in c] for c in (self.tables or [[]])[-1]]
        filled = [c for c in cells if any(c)]
        if self.tables:
            self.tables[-1] = []
        # One filled cell of paragraphs is layout; "Marketplace | (empty)" is still a label and its (missing) value.
        layout = len(filled) == 1 and (len(cells) == 1 or sum(map(bool, filled[0])) > 1)
        rows = filled[0] if layout else ["\t".join(" ".join(" ".join(c).split()) for c in cells)] * bool(filled)
        self.target().extend(("> " if self.quote and x else "") + x for x in rows)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCK or tag == "br":
            self.boundary(tag)
        if tag in ("table", "tr"):
            self.close_row()  # a table inside a cell makes the outer one layout
        self.tables += [[]] if tag == "table" else []
        if tag in ("td", "th") and self.tables:
            self.tables[-1].append([])
        self.skip += tag in self.SKIP
        self.quote += tag == "blockquote"

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCK:
            self.boundary("/")
        if tag in ("tr", "table"):
            self.close_row()
        if tag == "table" and self.tables:
            self.tables.pop()
            self.target().append("")  # a table's end also ends a running multi-line value
        self.skip -= tag in self.SKIP and self.skip > 0
        self.quote -= tag == "blockquote" and self.quote > 0

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.cur += data


def html_lines(markup: str) -> list[str]:
    parser = _Text()
    try:
        parser.feed(markup or "")
        parser.close()
    except Exception:  # malformed markup: keep what was read
        pass
    while parser.tables:
        parser.handle_endtag("table")
    parser.boundary()
    return parser.lines
