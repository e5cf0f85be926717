"""How well the agent recognises the SOP's items in the engineers' own words: the phrasing corpus of
tests/test_item_words.py, per item and overall, as plain text and as HTML; the complete T1s written in own words;
the prose that must not count; the T1s that really lack items.

    .venv/bin/python tools/items_recognition.py
"""

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from agent.core.procedure.items import ITEMS, extract, is_physical, missing  # noqa: E402 (after sys.path)


def corpus():
    spec = importlib.util.spec_from_file_location("test_item_words", REPO / "tests" / "test_item_words.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recognised(words: str, key: str, value: str, html: bool) -> bool:
    if html:
        lines = "".join(f"<div>{x}</div>" if x else "<div><br></div>" for x in words.split("\n"))
        found = extract(
            "", f"<div>Hi team,</div><div><br></div>{lines}<div><br></div><div>Thanks,</div><div>Alice</div>"
        )
    else:
        found = extract(f"Hi team,\n\n{words}\n\nThanks,\nAlice", "")
    return key in found and value in found[key]


def main() -> int:
    c = corpus()
    required = [i for i in ITEMS if i.required]
    print(f"Phrasing corpus: {len(c.CORPUS)} phrasings of the {len(required)} required items")
    print(
        f"(batches of {len(c.PHRASINGS)}, {len(c.SECOND)} and {len(c.THIRD)}; each as plain text and as HTML. "
        "The second and third were written after the rules and first measured untouched: 55/58 and 24/26; "
        "see the module)\n"
    )
    print(f"{'item':<16}{'label':<48}{'plain':>8}{'html':>8}")
    for item in required:
        cases = [(w, k, v) for w, k, v in c.CORPUS if k == item.key]
        cells = [f"{sum(recognised(w, k, v, html) for w, k, v in cases)}/{len(cases)}" for html in (False, True)]
        print(f"{item.key:<16}{item.label[:46]:<48}{cells[0]:>8}{cells[1]:>8}")
    batches = (
        ("first batch", c.PHRASINGS),
        ("second batch", c.SECOND),
        ("third batch", c.THIRD),
        ("overall", c.CORPUS),
    )
    for name, batch in batches:
        for html in (False, True):
            hits = sum(recognised(w, k, v, html) for w, k, v in batch)
            kind = "HTML" if html else "plain text"
            print(f"{name + ', ' + kind + ':':<28}{hits}/{len(batch)} = {100 * hits / len(batch):.1f} %")
    misses = [(w, k) for w, k, v in c.CORPUS for html in (False, True) if not recognised(w, k, v, html)]
    for w, k in misses:
        print(f"  MISSED {k}: {w!r}")

    print("\nComplete T1s in the engineers' own words (every required item recognised?)")
    all_items = 0
    for name, (text, html, physical) in sorted(c.COMPLETE.items()):
        found = extract(text, html)
        wanted = [i.key for i in required if physical or not i.physical_only]
        lacking = [i.key for i in missing(found, physical)]
        all_items += len(wanted)
        gap = f"  missing: {', '.join(lacking)}" if lacking else ""
        print(f"  {name:<36}{len(wanted) - len(lacking)}/{len(wanted)}{gap}")
    gaps = sum(len(missing(extract(t, h), p)) for t, h, p in c.COMPLETE.values())
    share = 100 * (all_items - gaps) / all_items
    print(f"  items of complete T1s recognised: {all_items - gaps}/{all_items} = {share:.1f} %")

    false = [(w, k) for w, k in c.NOT_ITEMS if k in extract(f"Hi,\n\n{w}\n", "")]
    print(f"\nProse that must not count: {len(c.NOT_ITEMS) - len(false)}/{len(c.NOT_ITEMS)} rightly not taken")
    for w, k in false:
        print(f"  FALSE {k}: {w!r}")

    print("\nT1s that really lack items (named exactly?)")
    right = 0
    for name, (text, html, lacking) in sorted(c.LACKING.items()):
        named = [i.key for i in missing(extract(text, html), is_physical(text or html))]
        right += named == lacking
        print(f"  {name + ':':<68}{'ok' if named == lacking else 'WRONG'}, named {', '.join(named)}")
    print(f"  {right}/{len(c.LACKING)} named exactly")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
