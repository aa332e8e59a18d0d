"""Parse one oc4d access line (a journal MESSAGE) into a module hit — DESIGN §2.

`parse()` never raises: anything it cannot read is reported as a reason string by `classify()`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple, TypeVar
from urllib.parse import unquote, urlsplit

from gaze.identity import GUEST, json_may_name, normalize_user, user_of, user_of_query, user_of_token, user_of_usual
from gaze.logs import clean_field

__all__ = [  # GUEST and normalize_user are gaze.identity's, found here too
    "BAD_ADDRESS",
    "BAD_STATUS",
    "BUILD_ID",
    "GUEST",
    "LOOPBACK",
    "MAX_CLOCK_SKEW_MS",
    "NOT_ACCESS",
    "NO_MODULE",
    "Hit",
    "Kind",
    "classify",
    "module_from_path",
    "normalize_user",
    "parse",
    "parse_address",
]

Kind = Literal["entry", "asset"]

# Reasons a line yields no hit (used in counters and the backfill summary).
NOT_ACCESS = "not-access"  # no `info:` or no `"GET <target>` request
BAD_STATUS = "status>=400"
NO_MODULE = "no-module"
BAD_ADDRESS = "bad-address"
LOOPBACK = "loopback"

BUILD_ID = re.compile(r"^\d{10,}_[A-Za-z0-9_-]+$")
_FILE_LIKE = re.compile(r"\.[a-z0-9]{1,10}$", re.IGNORECASE)
_TARGET = re.compile(r'[^ "]*')
_TOKEN = re.compile(r"\s*(\S+)")
_STATUS = re.compile(r"\s*(\d{3})(?!\d)")
_TIMESTAMP = re.compile(r"\[(\d{4}-\d\d-\d\dT[^\]\s]{1,40})\]")
_TIMESTAMP_MS = re.compile(r"\[(\d{4}-\d\d-\d\dT\d\d:\d\d):([0-5]\d)\.(\d{3})Z\]")  # oc4d's usual form
# The usual access line (oc4d's own form and morgan's), read by one match: see `_usual`. Every part is
# narrower than the full rule's, so that where it matches both give the same answer
# (tests/test_logline_fast.py compares them).
_USUAL = re.compile(
    r"info: ([0-9A-Fa-f:.]+) "  # the address token: no quote, no bracket, no blank
    r"(?:user=([\x21\x23-\x5a\x5c-\x7e]+) )?"  # morgan's user= (printable ASCII, no `"` or `[`)
    r"- \[([0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]):([0-5][0-9])\.([0-9][0-9][0-9])Z\] "
    r'"GET ([^ "]+) HTTP/1\.[01]"'
    r" ([0-9][0-9][0-9])(?= |\Z)",  # the status, then a blank or the end: the rest is not scanned
)
_SECOND_MS = {f"{s:02}": s * 1000 for s in range(60)}  # `_USUAL`'s seconds and milliseconds, as read
_MILLI = {f"{ms:03}": ms for ms in range(1000)}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


MAX_CLOCK_SKEW_MS = 3_600_000  # DESIGN §2.7 and §3: an hour

V = TypeVar("V")


class _Memo(dict[str, V]):
    """The answers of a pure function of a string, `memo[text]` (one dict lookup once known; an
    lru_cache call costs more, on every line). Forgotten all at once when `maxsize` are kept;
    `cache_clear()` as functools' caches."""

    __slots__ = ("_compute", "_maxsize")

    def __init__(self, compute: Callable[[str], V], maxsize: int) -> None:
        super().__init__()
        self._compute = compute
        self._maxsize = maxsize

    def __missing__(self, text: str) -> V:
        value = self._compute(text)
        if len(self) >= self._maxsize:
            self.clear()
        self[text] = value
        return value

    def cache_clear(self) -> None:
        self.clear()


class Hit(NamedTuple):  # made once per hit: see _hit
    kind: Kind
    ip: str
    user: str
    module: str
    time_ms: int | None  # from the bracketed timestamp; None = use the journal entry's time

    def at(self, journal_ms: int | None) -> int:
        """The hit's event time (DESIGN §2.7): the bracketed time when present and believable, else
        the journal entry's time. A bracketed time over MAX_CLOCK_SKEW_MS from the journal time is
        not believed (a far-future stamp must not pin the session clock)."""
        stamp = self.time_ms
        if stamp is None:
            if journal_ms is None:
                raise ValueError("a hit needs a bracketed time or a journal time")
            return journal_ms
        if journal_ms is not None and abs(stamp - journal_ms) > MAX_CLOCK_SKEW_MS:
            return journal_ms
        return stamp


# a Hit from its fields as one tuple: tuple.__new__ itself, without Hit()'s Python-level __new__
_new_hit: Callable[[type[Hit], tuple[Kind, str, str, str, int | None]], Hit] = tuple.__new__


def parse(message: str, *, include_loopback: bool = False) -> Hit | None:
    """The module hit in one journal message, or None."""
    result = classify(message, include_loopback=include_loopback)
    return result if isinstance(result, Hit) else None


def classify(message: str, include_loopback: bool = False) -> Hit | str:
    """A Hit, or the reason (one of the module constants) the line gives none. Never raises."""
    try:
        if "/modules/" not in message:  # fast path, and the same answer the path rules would give
            return NO_MODULE
        start = message.find("info:")
        if start < 0:
            return NOT_ACCESS
        usual = _USUAL.match(message, start)  # the usual line: one match (`_usual`)
        if usual is not None:
            return _usual(message, usual, include_loopback)
        return _full(message, start, include_loopback)
    except Exception:  # a parser must never take the reader down; count it instead
        return NOT_ACCESS


def _full(message: str, start: int, include_loopback: bool) -> Hit | str:
    """The full rule for a line with `/modules/` in it and its first `info:` at `start`."""
    req = message.find('"GET ', start)
    if req < 0:
        return NOT_ACCESS
    found = _TARGET.match(message, req + 5)
    if found is None:  # never: the pattern matches the empty string
        return NOT_ACCESS
    target_end = found.end()
    target = message[req + 5 : target_end]
    if not target:
        return NOT_ACCESS
    close = message.find('"', target_end)
    trailer = ""
    if close >= 0:
        trailer = message[close + 1 :]
        code = trailer[1:4]
        if trailer[:1] == " " and code.isdigit() and trailer[4:5] in ("", " "):
            if code >= "400":  # the usual ` 200 …`, without the regex
                return BAD_STATUS
        else:
            status = _STATUS.match(trailer)
            if status and int(status.group(1)) >= 400:
                return BAD_STATUS
    target_info = _target[target]
    if target_info is None:
        return NO_MODULE
    module, kind, query, _ = target_info

    token = _TOKEN.match(message, start + 5, req)
    if token is None:
        return BAD_ADDRESS
    ip = _address[token.group(1)]
    if ip is None:
        return BAD_ADDRESS
    if not include_loopback and ip[1]:
        return LOOPBACK

    user, time_ms = _who_and_when(message[token.end() : req], trailer, query)
    return Hit(kind, ip[0], user, module, time_ms)


def _usual(message: str, usual: re.Match[str], include_loopback: bool) -> Hit | str:
    """`_full` for a line `_USUAL` matched: the same steps on the parts it found. The remote-user
    field is `-` there (no source), morgan's user= token is the one `_USUAL` read, and the bracketed
    time is `_USUAL`'s (the first `[` after the address)."""
    token, named, minute, second, milli, target, code = usual.groups()
    if code >= "400":
        return BAD_STATUS
    target_info = _target[target]
    if target_info is None:
        return NO_MODULE
    ip = _address[token]
    if ip is None:
        return BAD_ADDRESS
    if ip[1] and not include_loopback:
        return LOOPBACK
    module, kind, query, user = target_info  # user: who the query names, else Guest
    # identity.user_of_usual's sources in its order, without its work where the line has no other:
    # the trailer (the status on) holds a JSON object only if it ends in `}` or a blank
    last, at = message[-1], usual.start(7)
    if (last == "}" or last.isspace()) and json_may_name(message, at):
        user = _user_of_usual(message, usual, query, named)
    elif named is not None:  # morgan's user= token names someone: that is the user, whatever follows
        user = _named_user[named] or _user_of_usual(message, usual, query, named)
    elif message.find(":", at) >= 0 or message.find("=", at) >= 0:  # a header?
        user = _user_of_usual(message, usual, query, named)
    minute_ms = _minute_ms[minute]
    time_ms = None if minute_ms is None else minute_ms + _SECOND_MS[second] + _MILLI[milli]
    return _new_hit(Hit, (kind, ip[0], user, module, time_ms))


def _user_of_usual(message: str, usual: re.Match[str], query: str, named: str | None) -> str:
    """identity.user_of_usual on the parts of a line `_USUAL` matched: between the address and the
    request, and from the blank before the status on."""
    return user_of_usual(message[usual.end(1) : usual.start(6) - 5], message[usual.start(7) - 1 :], query, named)


def _who_and_when(rest: str, trailer: str, query: str) -> tuple[str, int | None]:
    """The user (gaze.identity) and the bracketed time of an access line: `rest` is what lies between
    the address and the request, `trailer` what follows the request, `query` the request's query string."""
    time_ms = None
    usual = _TIMESTAMP_MS.search(rest)
    if usual:  # `[2024-07-02T03:13:12.202Z]`: the minute is parsed once, seconds and ms added
        minute = _minute_ms[usual.group(1)]
        if minute is not None:
            time_ms = minute + int(usual.group(2)) * 1000 + int(usual.group(3))
    else:
        stamp = _TIMESTAMP.search(rest)
        if stamp:
            time_ms = _iso_ms(stamp.group(1))
    return user_of(rest, trailer, query), time_ms


# ---------------------------------------------------------------- path and module


def _target_info(target: str) -> tuple[str, Kind, str, str] | None:
    """(module, kind, raw query, the user the query names or Guest) for a request target, or None when
    it names no module."""
    if "://" in target:
        parts = urlsplit(target)
        raw_path, query = parts.path, parts.query
    else:
        raw_path, _, _ = target.partition("#")
        raw_path, _, query = raw_path.partition("?")
    path = "/".join(unquote(seg, errors="replace") if "%" in seg else seg for seg in raw_path.split("/"))
    module = module_from_path(raw_path)
    if module is None:
        return None
    kind: Kind = "entry" if path.rstrip("/").lower().endswith("/index.html") else "asset"
    return module, kind, query, (user_of_query(query) if query else None) or GUEST


_target = _Memo(_target_info, 16384)


def module_from_path(raw_path: str) -> str | None:
    """The module slug in a (still percent-encoded) URL path — DESIGN §2 step 3; a control character
    it decodes to is one space (DESIGN §4)."""
    slug = _slug(raw_path)
    return None if slug is None else clean_field(slug)


def _slug(raw_path: str) -> str | None:
    idx = raw_path.find("/modules/")
    if idx < 0:
        return None
    parts = [unquote(p, errors="replace") if "%" in p else p for p in raw_path[idx + 9 :].split("/")]
    if raw_path[:idx].endswith("/uploads"):
        folders = [p for p in parts[:-1] if p]
        if len(folders) >= 2:
            return folders[1]
        if len(folders) == 1 and not BUILD_ID.match(folders[0]):
            return folders[0]
        return None
    for seg in [p for p in parts if p][:2]:
        if _FILE_LIKE.search(seg):
            return None
        if not BUILD_ID.match(seg):
            return seg
    return None


# ---------------------------------------------------------------- address


def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """DESIGN §2 step 5, the one reading of a client address (log lines, heartbeats, device names):
    blanks and `[ ]` stripped, a `::ffff:` prefix (any case) dropped; None when it is not an address.
    `str()` of the result is the canonical form session records store."""
    raw = text.strip().strip("[]")
    if raw[:7].lower() == "::ffff:":
        raw = raw[7:]
    try:
        return ipaddress.ip_address(raw)
    except ValueError:
        return None


def _address_info(token: str) -> tuple[str, bool] | None:
    """(canonical address, is loopback/unspecified) or None when the token is not an address."""
    addr = parse_address(token)
    if addr is None:
        return None
    return clean_field(str(addr)), addr.is_loopback or addr.is_unspecified  # an IPv6 zone may hold any byte


_address = _Memo(_address_info, 4096)
_named_user = _Memo(user_of_token, 4096)  # who morgan's user= token names


# ---------------------------------------------------------------- time


def _minute_info(text: str) -> int | None:
    return _iso_ms(text + ":00Z")


_minute_ms = _Memo(_minute_info, 2048)


def _iso_ms(text: str) -> int | None:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH) // _MS
