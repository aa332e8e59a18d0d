"""The synthetic classroom's material: its module catalog, learners, browsers, assets and noise.

Data only, for `gaze.simulator.traffic.Classroom` (and the demo catalog of `gaze.catalog`).
"""

from __future__ import annotations

from typing import TypedDict


class CatalogEntry(TypedDict):
    """One module of a synthetic catalog (`build`: the upload id of the module's files, may be empty)."""

    slug: str
    name: str
    description: str
    build: str


DEMO_CATALOG: list[CatalogEntry] = [
    {
        "slug": "cdn_math",
        "name": "Mathematics (CDN)",
        "description": "Core mathematics for junior high: number, fractions, geometry and data.",
        "build": "1763389063089_v6sji3qt1",
    },
    {
        "slug": "cdn_acid_bases_and_salts",
        "name": "Acids, Bases and Salts",
        "description": "Chemistry unit with indicator experiments and pH worksheets.",
        "build": "1763389063089_v6sji3qt1",
    },
    {
        "slug": "cdn_algebra",
        "name": "Algebra Basics",
        "description": "Expressions, linear equations and word problems with worked examples.",
        "build": "1763333740231_qw83ospc0",
    },
    {
        "slug": "cdn_verbs",
        "name": "English Verbs",
        "description": "Tenses, irregular verbs and practice quizzes.",
        "build": "1763333740231_qw83ospc0",
    },
    {
        "slug": "cdn_geo",
        "name": "Geography of West Africa",
        "description": "Maps, climate zones, rivers and population of West Africa.",
        "build": "1763351385580_za0yw3hws",
    },
    {
        "slug": "en-wassce",
        "name": "WASSCE Past Questions (English)",
        "description": "Past examination papers with marking schemes.",
        "build": "1763391338325_iyefn8g94",
    },
    {
        "slug": "en-ebooks",
        "name": "English eBooks Library",
        "description": "Offline library of graded readers and classic novels.",
        "build": "1763351385580_za0yw3hws",
    },
    {
        "slug": "en-bookdash",
        "name": "Book Dash Stories",
        "description": "Illustrated children's picture books.",
        "build": "1763351385580_za0yw3hws",
    },
    {
        "slug": "en-w3schools",
        "name": "W3Schools Offline",
        "description": "HTML, CSS and JavaScript tutorials for offline use.",
        "build": "1763391338325_iyefn8g94",
    },
    {
        "slug": "BookBridge",
        "name": "BookBridge",
        "description": "Reading comprehension passages with audio.",
        "build": "1763333740231_qw83ospc0",
    },
    {
        "slug": "CDN Module - Single Page - With Images",
        "name": "CDN Module - Single Page - With Images",
        "description": "Sample single-page module with inline images.",
        "build": "1763333740231_qw83ospc0",
    },
    {
        "slug": "2048",
        "name": "2048 Number Game",
        "description": "The sliding-tile number puzzle.",
        "build": "1764012210417_k2m9x0abq",
    },
    {
        "slug": "the-cultural-and-occult-symbiosis-of-witches-and-black-cats",
        "name": "Witches and Black Cats: A Cultural History",
        "description": "Long-form reading on folklore and history.",
        "build": "1777676510110_f6iy7ii71",
    },
    {
        "slug": "health-first-aid",
        "name": "First Aid Basics",
        "description": "Burns, bleeding, fractures and when to get help.",
        "build": "1764012210417_k2m9x0abq",
    },
    {
        "slug": "wikipedia_en_for_schools",
        "name": "Wikipedia for Schools",
        "description": "Curated Wikipedia selection for school children.",
        "build": "1777676510110_f6iy7ii71",
    },
]

DEFAULT_USERS: list[str] = [
    "akosua.mensah@example.org",
    "kwame.boateng@example.org",
    "Ama.Owusu@Example.org",
    "kofi.asante@example.org",
    "efua.addo@example.org",
    "yaw.darko@example.org",
    "abena.osei@example.org",
    "teacher@example.org",
    "librarian@example.org",
    "esi.quaye@example.org",
]

USER_AGENTS = [
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-T220) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 16_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 11; TECNO KG5m) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/118.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Mobile; LYF/F320B/LYF-F320B-001-01-15-130718-i; Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
]

# Asset names relative to a module's root; some need percent-encoding in the URL.
ASSETS = [
    "css/style.css",
    "css/print.css",
    "js/main.js",
    "js/vendor.min.js",
    "js/quiz.js",
    "img/cover.png",
    "img/figure-1.png",
    "img/figure-2.jpg",
    "img/Figure 3 (a).png",
    "img/diagramme élève.png",
    "fonts/roboto-regular.woff2",
    "audio/intro.mp3",
    "data/questions.json",
    "img/icons/arrow-right.svg",
    "pages/chapter 2.html",
]
SUBPAGES = ["lesson-2/index.html", "lesson-3/index.html", "quiz/index.html", "glossary/index.html"]
MISSING = ["favicon.ico", "img/missing.png", "js/main.js.map", "apple-touch-icon.png"]
NEXT_NOISE = [
    "/_next/static/chunks/webpack-3b1c8e2f.js",
    "/_next/static/chunks/main-app-9a1f2c.js",
    "/_next/static/chunks/pages/index-5d2e8c1b.js",
    "/_next/static/css/4e8b1f0a2c.css",
    "/_next/static/media/logo.4f2a.svg",
    "/api/modules",
    "/api/auth/session",
    "/favicon.ico",
    "/img/logo.png",
]
GARBAGE = [
    'error: éè \ufffd broken /modules/ "GET',
    "info: ::ffff:192.168.4.",
    "\x1b[32minfo\x1b[39m: Server listening on port 80",
    "warn: Prisma: connection pool timeout (more than 5 connections in use)",
    "error: ECONNRESET socket hang up",
    "    at TLSSocket.onHangUp (node:_http_client:485:23)",
]
