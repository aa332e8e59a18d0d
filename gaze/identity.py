"""Who an oc4d access line names — DESIGN §2 step 6: `user_of` looks in the line's sources in order
(a JSON object at its end, morgan's ` user=`, identity headers, the request's query, Apache's
remote-user field) and the first that names someone wins, else `GUEST`; `normalize_user` is the
normalisation every source's value goes through. gaze/logline.py parses the rest of the line.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from urllib.parse import parse_qsl, unquote

from gaze.logs.format import clean_field

GUEST = "Guest"

_HEADER_NAMES = (
    "x-remote-user",
    "x-auth-request-user",
    "x-forwarded-user",
    "x-authenticated-user",
    "x-user-email",
    "x-user",
    "remote_user",
    "remote-user",
)
_HEADER = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(n) for n in _HEADER_NAMES) + r")\s*[:=]\s*"
    r"(\"[^\"]*\"|'[^']*'|[^\s,;\"']+)",
    re.IGNORECASE,
)
_JSON_KEYS = (
    "user", "username", "login", "email", "sub", "remote_user",
    "preferred_username", "upn", "user_email", "mail", "nameid",
)  # fmt: skip
_JSON_KEY_HINT = re.compile(r'"(?:' + "|".join(_JSON_KEYS) + r')"')
_QUERY_KEYS = (
    "user", "username", "login", "email", "sub", "upn",
    "preferred_username", "remote_user", "user_email",
)  # fmt: skip


def user_of(rest: str, trailer: str, query: str) -> str:
    """The user an access line names: `rest` is what lies between the address and the request,
    `trailer` what follows the request, `query` the request's query string."""
    return (  # DESIGN §2 step 6: the first source that names someone wins
        _json_identity(trailer)
        or _morgan_identity(rest)
        or _header_identity(rest, trailer)
        or user_of_query(query)
        or _remote_user_field(rest)
        or GUEST
    )


def user_of_usual(rest: str, trailer: str, query: str, named: str | None) -> str:
    """`user_of` for the usual line (gaze.logline's `_USUAL`), whose remote-user field is `-` and
    whose morgan user= token, if any, is `named` (printable ASCII): the same sources in the same order."""
    last = trailer[-1:]  # a JSON object at the end only when the trailer ends in `}` (or blanks)
    user = _json_identity(trailer) if last == "}" or last.isspace() else None
    if user is None and named:
        user = user_of_token(named)
    if user is None and (named or ":" in trailer or "=" in trailer):  # `rest` has a `=` only in user=
        user = _header_identity(rest, trailer)
    if user is None and query:
        user = user_of_query(query)
    return user or GUEST


def normalize_user(value: object) -> str | None:
    """DESIGN §2 step 6 normalisation; None means "nothing here". Control characters become spaces
    first (DESIGN §4), so a value that was only control characters is nothing, like a blank one."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    text = clean_field(str(value)).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]
    text = text.rstrip(";,").strip()
    if text[:7].lower() == "mailto:":
        text = text[7:].strip()
    if not text or text == "-":
        return None
    if "@" in text:
        text = text.lower()
    if text.lower() in ("guest", "anonymous"):
        return GUEST
    return text


def json_may_name(message: str, at: int) -> bool:
    """False when the trailer `message[at:]` holds no JSON object that could name someone (what
    `_json_identity` finds there is then None): no `{`, or after it no identity key and no escape."""
    pos = message.find("{", at)
    return pos >= 0 and (_JSON_KEY_HINT.search(message, pos) is not None or message.find("\\", at) >= 0)


def _json_identity(trailer: str) -> str | None:
    text = trailer.rstrip()
    if not text.endswith("}"):
        return None
    pos = text.find("{")
    if pos < 0 or (_JSON_KEY_HINT.search(text, pos) is None and "\\" not in text):
        return None  # no identity key can be in there (e.g. morgan's {"timestamp":…})
    return _json_identity_of(text[pos:])


@lru_cache(maxsize=4096)
def _json_identity_of(text: str) -> str | None:
    """The identity in the first `{…}` suffix of `text` that is a JSON object."""
    pos = 0
    while pos >= 0:
        try:
            obj = json.loads(text[pos:])
        except RecursionError:  # nested deeper than Python parses: no identity from it
            return None
        except ValueError:
            pos = text.find("{", pos + 1)
            continue
        if isinstance(obj, dict):
            for key in _JSON_KEYS:
                value = obj.get(key)
                if value is not None:
                    user = normalize_user(value)
                    if user:
                        return user
        return None
    return None


def _morgan_identity(prefix: str) -> str | None:
    pos = prefix.find(" user=")
    if pos < 0:
        return None
    token = prefix[pos + 6 :].split(None, 1)
    return user_of_token(token[0]) if token else None


@lru_cache(maxsize=4096)
def user_of_token(token: str) -> str | None:
    """The user morgan's ` user=` token names (`+` a space, percent-decoded), None when no one."""
    return normalize_user(unquote(token.replace("+", " "), errors="replace"))


def _header_identity(prefix: str, trailer: str) -> str | None:
    if ":" not in trailer and "=" not in trailer and "=" not in prefix:
        return None
    best: tuple[int, str] | None = None
    for text in (prefix, trailer):
        for m in _HEADER.finditer(text):
            user = normalize_user(m.group(2))
            rank = _HEADER_NAMES.index(m.group(1).lower())
            if user and (best is None or rank < best[0]):
                best = (rank, user)
    return best[1] if best else None


def user_of_query(query: str) -> str | None:
    if not query:
        return None
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        params.setdefault(key, value)
    for key in _QUERY_KEYS:
        user = normalize_user(params.get(key))
        if user:
            return user
    return None


def _remote_user_field(prefix: str) -> str | None:
    """The Apache remote-user field: the token right before ` [` (prefix starts after the address)."""
    pos = prefix.find(" [")
    if pos < 0:
        return None
    tokens = prefix[:pos].split()
    if not tokens or tokens[-1] == "-":  # the classic line's `-`: nothing there
        return None
    return normalize_user(tokens[-1])
