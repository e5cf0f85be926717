"""config.ini's sections: typed getters whose every error names `[section] key`."""

import configparser
import difflib
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import overload

from agent.core.errors import ConfigError
from agent.core.times import parse_duration as duration

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def parse_duration(text: str, key: str) -> timedelta:
    value = duration(text)
    if value is None:
        raise ConfigError(f"{key}: {text!r} is not a duration (use e.g. 90, 90s, 30m, 1h)")
    return value


_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "ki": 1024, "mi": 1024**2, "gi": 1024**3}


def parse_size(text: str, key: str) -> int:
    """A size in bytes: `10000000`, `10MB` / `10M` (decimal, as mail servers publish their limits), `9.5MiB`
    (binary)."""
    m = _SIZE.match(text.strip())
    unit = (m.group(2) or "").lower().removesuffix("b") if m else ""
    if m is None or unit not in _UNITS:
        raise ConfigError(f"{key}: {text!r} is not a size (use e.g. 10MB, 10M, 9.5MiB or bytes: 10000000)")
    return int(float(m.group(1)) * _UNITS[unit])


class Ini(configparser.ConfigParser):
    """config.ini as read, and which sections and keys the loader asked for: the known names are exactly the ones
    read, so a key added to the loader needs no second list, and a typo cannot pass as an unused key."""

    def __init__(self) -> None:
        super().__init__(interpolation=None)
        self.asked: dict[str, set[str]] = {}
        self.open_sections: set[str] = set()  # sections whose every key is an entry ([operations])

    def unknown(self) -> str | None:
        """The first section or key the loader never asked for, as an error with the likely intended name."""
        errors = []
        for name in self.sections():
            if name not in self.asked:
                errors.append(f"[{name}]: no such section{_did_you_mean(name, self.asked, '[{}]')}")
                continue
            if name in self.open_sections:
                continue
            for key in self[name]:
                if key not in self.asked[name]:
                    errors.append(f"[{name}] {key}: no such key{_did_you_mean(key, self.asked[name], '{}')}")
        if not errors:
            return None
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return errors[0] + more


def _did_you_mean(name: str, known, form: str) -> str:
    close = difflib.get_close_matches(name.lower(), sorted(known), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {form.format(close[0])}?"
    return f" (known: {', '.join(form.format(k) for k in sorted(known))})"


class Section:
    """One section's values, with typed getters whose errors name `[section] key`. Every key asked for is recorded
    in the parser (an `Ini`): what was never asked for is unknown."""

    def __init__(self, parser: configparser.ConfigParser, name: str, secrets: bool = True):
        self.name = name
        self.values = dict(parser[name]) if parser.has_section(name) else {}
        self.secrets = secrets  # False: a read-only command's load, which reads no password file and needs none
        self._asked = parser.asked.setdefault(name, set()) if isinstance(parser, Ini) else set()
        self._open = parser.open_sections if isinstance(parser, Ini) else set()

    def key(self, key: str) -> str:
        return f"[{self.name}] {key}"

    def entries(self) -> dict[str, str]:
        """Every key of a section whose keys are entries, not settings ([operations]: a country each)."""
        self._open.add(self.name)
        return self.values

    @overload
    def text(self, key: str, default: str) -> str: ...
    @overload
    def text(self, key: str, default: None = None) -> str | None: ...
    def text(self, key: str, default: str | None = None) -> str | None:
        self._asked.add(key)
        value = self.values.get(key, "").strip()
        return value or default

    def required(self, key: str, default: str | None = None) -> str:
        """`text`, but an error when the key is unset and there is no default."""
        value = self.text(key, default)
        if value is None:
            typo = difflib.get_close_matches(key, [k for k in self.values if k not in self._asked], n=1, cutoff=0.6)
            hint = f" (is {typo[0]} a misspelling of it?)" if typo else ""
            raise ConfigError(f"{self.key(key)} is required{hint}")
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        text = self.text(key)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(f"{self.key(key)}: {text!r} is not a whole number") from None
        if not low <= value <= high:
            raise ConfigError(f"{self.key(key)}: {value} is outside {low}..{high}")
        return value

    def size(self, key: str, default: int, low: int, high: int) -> int:
        text = self.text(key)
        if text is None:
            return default
        value = parse_size(text, self.key(key))
        if not low <= value <= high:
            raise ConfigError(f"{self.key(key)}: {text} is outside {low:,}..{high:,} bytes")
        return value

    def flag(self, key: str, default: bool) -> bool:
        text = self.text(key)
        if text is None:
            return default
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise ConfigError(f"{self.key(key)}: {text!r} is not true or false")

    def seconds(self, key: str, default: int, low: int, high: int) -> int:
        """A duration key read as whole seconds (`90`, `90s`, `30m`, `1h`), within low..high."""
        value = int(self.duration(key, timedelta(seconds=default)).total_seconds())
        if not low <= value <= high:
            raise ConfigError(f"{self.key(key)}: {value}s is outside {low}s..{high}s")
        return value

    def duration(self, key: str, default: timedelta) -> timedelta:
        text = self.text(key)
        return default if text is None else parse_duration(text, self.key(key))

    def window(self, key: str, default: timedelta) -> timedelta:
        """A ladder's window: a duration of at least a second."""
        value = self.duration(key, default)
        if value.total_seconds() < 1:
            raise ConfigError(f"{self.key(key)} must be at least 1s")
        return value

    def url(self, key: str) -> str | None:
        """An http(s) URL, or None when the key is unset."""
        text = self.text(key)
        if text is None:
            return None
        if not text.lower().startswith(("http://", "https://")) or " " in text:
            raise ConfigError(f"{self.key(key)}: {text!r} is not an http:// or https:// URL")
        return text

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = (self.text(key) or default).lower()
        if value not in choices:
            raise ConfigError(f"{self.key(key)}: {value!r} is not one of {', '.join(choices)}")
        return value

    def address(self, key: str, default: str | None = None) -> str:
        value = self.required(key, default)
        if not EMAIL.match(value):
            raise ConfigError(f"{self.key(key)}: {value!r} is not an email address")
        return value.lower()

    def items(self, key: str, default: tuple[str, ...] = (), required: bool = False) -> tuple[str, ...]:
        text = self.text(key)
        items = tuple(i.strip() for i in text.split(",") if i.strip()) if text else default
        if required and not items:
            raise ConfigError(f"{self.key(key)} is required (a comma-separated list)")
        return items

    def domains(self, key: str, default: tuple[str, ...] = (), required: bool = False) -> tuple[str, ...]:
        items = tuple(d.lower().lstrip("@") for d in self.items(key, default, required))
        for d in items:
            if "." not in d or " " in d:
                raise ConfigError(f"{self.key(key)}: {d!r} is not a domain")
        return items

    def secret(self, key: str, base: Path, required: bool) -> str | None:
        """`password`, the first line of `password_file`, or the systemd credential named by
        `password_credential` (read from $CREDENTIALS_DIRECTORY); the secret never enters a message. None, unread,
        for a read-only command's load (`secrets=False`)."""
        value = self.values.get(key, "")
        file_key, cred_key = f"{key}_file", f"{key}_credential"
        self._asked.add(key)
        path_text, credential = self.text(file_key), self.text(cred_key)
        given = [k for k, v in ((key, value), (file_key, path_text), (cred_key, credential)) if v]
        if len(given) > 1:
            raise ConfigError(f"{' and '.join(self.key(k) for k in given)} are all set; keep one")
        if not self.secrets:  # after the keys were recorded as asked: they stay known ones
            return None
        if credential:
            # Outside systemd (`check` as the service user) the credential is the file LoadCredential= reads:
            # beside config.ini, as scripts/install lays them out.
            directory = os.environ.get("CREDENTIALS_DIRECTORY")
            if not directory and not (base / credential).is_file():
                raise ConfigError(
                    f"{self.key(cred_key)}: {credential} is neither in $CREDENTIALS_DIRECTORY (systemd's "
                    f"LoadCredential=) nor beside config.ini in {base}"
                )
            path_text, file_key = str(Path(directory or base) / credential), cred_key
        if path_text:
            path = resolve(base, path_text)
            try:
                value = path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
            except (OSError, UnicodeDecodeError) as e:
                why = getattr(e, "strerror", None) or "not UTF-8 text"
                raise ConfigError(f"{self.key(file_key)}: cannot read {path} ({why})") from None
            if not value:
                raise ConfigError(f"{self.key(file_key)}: {path} is empty")
        if required and not value:
            raise ConfigError(f"{self.key(key)}, {self.key(file_key)} or {self.key(cred_key)} is required")
        return value or None


def resolve(base: Path, text: str) -> Path:
    path = Path(os.path.expanduser(text))
    return path if path.is_absolute() else base / path
