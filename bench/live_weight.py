"""The cold board's page weight for bench/live.py (d): what the browser downloads from the login
click to the first session row, as sent (compressed), per resource.

One extra cold login (bench/live_login.py ``login_once``) with a Chrome DevTools Protocol session on
the tab (``Network.enable``). Per request: the bytes the network delivered
(``Network.loadingFinished`` ``encodedDataLength``: headers and body as sent), the body's size once
decoded (the sum of ``Network.dataReceived`` ``dataLength``) and its ``content-encoding``; the
websocket frames the page received (payload lengths: the app sends them uncompressed). A request
counts in the phase it was sent in: the login page (opening ``/login`` until the click: on a
first visit that page downloads NiceGUI's scripts, which the board then takes from the browser's
cache), the click to the first row (the figure issue 21 asks for), and the SETTLE_MS after the row
(what the first row did not wait for). The marks are on the browser's clock, mapped to the
protocol's with the ``wallTime`` it gives with each request; a request that finished after the row
is marked so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bench.livebench import Row

if TYPE_CHECKING:
    from playwright.sync_api import Page

SETTLE_MS = 2_000  # how long after the first row requests are still noted (not counted)


@dataclass
class Resource:
    url: str
    kind: str
    sent_at: float  # the protocol's clock (s)
    finished_at: float | None = None
    encoding: str = "-"
    status: int = 0
    wire: int = 0  # bytes as sent: headers + body (encodedDataLength)
    body: int = 0  # decoded body bytes


@dataclass
class Weigher:
    """Collects one tab's network events (``watch`` attaches it to the tab)."""

    offset: float | None = None  # wallTime - timestamp (s)
    resources: dict[str, Resource] = field(default_factory=dict)
    frames: list[tuple[float, int]] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        cdp = page.context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", self.sent)
        cdp.on("Network.responseReceived", self.response)
        cdp.on("Network.dataReceived", self.data)
        cdp.on("Network.loadingFinished", self.finished)
        cdp.on("Network.webSocketFrameReceived", self.frame)
        cdp.send("Network.enable")

    def sent(self, event: dict[str, Any]) -> None:
        self.offset = float(event["wallTime"]) - float(event["timestamp"])
        key = event["requestId"]
        if key in self.resources:  # a redirect: the same id again; count the hop's bytes apart
            self.resources[f"{key}#{len(self.resources)}"] = self.resources.pop(key)
        self.resources[key] = Resource(event["request"]["url"], event.get("type", "?"), float(event["timestamp"]))

    def response(self, event: dict[str, Any]) -> None:
        if (res := self.resources.get(event["requestId"])) is not None:
            headers = {k.lower(): v for k, v in event["response"]["headers"].items()}
            res.encoding = headers.get("content-encoding", "-")
            res.status = int(event["response"]["status"])

    def data(self, event: dict[str, Any]) -> None:
        if (res := self.resources.get(event["requestId"])) is not None:
            res.body += int(event["dataLength"])

    def finished(self, event: dict[str, Any]) -> None:
        if (res := self.resources.get(event["requestId"])) is not None:
            res.wire = int(event["encodedDataLength"])
            res.finished_at = float(event["timestamp"])

    def frame(self, event: dict[str, Any]) -> None:
        self.frames.append((float(event["timestamp"]), len(event["response"]["payloadData"].encode())))


PHASES = ("login page", "click->row", "after row")  # opening /login .. click .. first row .. +SETTLE_MS


@dataclass(frozen=True)
class Weight:
    """One cold visit's requests, each in the phase it was sent in (PHASES)."""

    phases: dict[str, list[Resource]]
    frames: int  # websocket frames received between the click and the row
    frame_bytes: int
    row: float  # the first row, on the protocol's clock (s)

    def wire(self, phase: str) -> int:
        return sum(r.wire for r in self.phases[phase]) + (self.frame_bytes if phase == "click->row" else 0)


def weigh(weigher: Weigher, marks: dict[str, float]) -> Weight:
    """The resources ``weigher`` saw, cut at the click and the row (``marks``: epoch ms, as
    bench/live_login.py's READ_JS returns them)."""
    offset = weigher.offset or 0.0
    click = marks["click"] / 1000 - offset
    row = marks["row"] / 1000 - offset
    resources = sorted(weigher.resources.values(), key=lambda r: r.sent_at)
    frames = [size for at, size in weigher.frames if click <= at <= row]
    return Weight(
        {
            "login page": [r for r in resources if r.sent_at < click],
            "click->row": [r for r in resources if click <= r.sent_at <= row],
            "after row": [r for r in resources if row < r.sent_at <= row + SETTLE_MS / 1000],
        },
        len(frames),
        sum(frames),
        row,
    )


def short(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path
    if path.startswith("/_nicegui/"):  # /_nicegui/<version>/static/x -> static/x
        path = path.split("/", 3)[-1]
    return (path + (f"?{parts.query}" if parts.query else ""))[:70]


def weight_rows(weight: Weight, tag: str, *, detail: bool) -> list[Row]:
    def kb(size: int) -> str:
        return f"{size / 1024:.1f} KB"

    login, board, after = (weight.wire(phase) for phase in PHASES)
    count = {phase: f"{len(weight.phases[phase])} requests" for phase in PHASES}
    out = [
        Row(f"(d){tag} cold page weight, login click -> first row (as sent)", kb(board), "", count["click->row"]),
        Row(f"(d){tag} cold visit: the login page before the click (as sent)", kb(login), "", count["login page"]),
        Row(f"(d){tag} cold visit: opening /login -> first row (as sent)", kb(login + board)),
        Row(
            f"(d){tag} cold visit: in the {SETTLE_MS / 1000:.0f} s after the first row",
            kb(after),
            "",
            count["after row"],
        ),
    ]
    if not detail:
        return out
    for phase in PHASES:
        for res in weight.phases[phase]:
            late = ", done after row" if phase != "after row" and (res.finished_at or 1e18) > weight.row else ""
            cached = " (cache)" if res.wire == 0 and res.body else ""
            out.append(
                Row(
                    f"(d){tag}   {phase:<10} {res.kind:<10} {short(res.url)}",
                    kb(res.wire) + cached,
                    f"{res.encoding}, {kb(res.body)} decoded{late}",
                )
            )
    out.append(Row(f"(d){tag}   click->row websocket frames received ({weight.frames})", kb(weight.frame_bytes)))
    return out
