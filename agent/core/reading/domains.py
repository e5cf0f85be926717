"""Which of the vendor's domains a sender's domain looks like: the same registrable name under another public
suffix (amazon.co.jp beside amazon.com). Pure; the Public Suffix List is the copy publicsuffixlist ships."""

from functools import lru_cache

from publicsuffixlist import PublicSuffixList


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


@lru_cache(maxsize=1024)
def registrable_name(domain: str) -> str | None:
    """`amazon` for support.amazon.co.jp and for amazon.com; None for a bare public suffix or nonsense."""
    d = domain.lower().strip(".")
    private, suffix = _psl().privatesuffix(d), _psl().publicsuffix(d)
    if not private or not suffix or len(str(private)) <= len(str(suffix)) + 1:
        return None
    return str(private)[: -len(str(suffix)) - 1]


def looks_like(domain: str, known: tuple[str, ...]) -> str | None:
    """The first of `known` with the same registrable name as `domain` under another suffix, or None."""
    name = registrable_name(domain)
    if name is None:
        return None
    return next((k for k in known if registrable_name(k) == name and k.lower() != domain.lower()), None)
