"""The built book, opened in a real headless Chromium (Debian's package, no download).

Runs only when BOOK_HTML names a built site (CI sets it after `jupyter-book build`):

    BOOK_HTML=_build/html pytest tests/test_site.py -p no:xdist -o addopts=""
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

SITE = Path(os.environ.get("BOOK_HTML", "")).resolve() if os.environ.get("BOOK_HTML") else None
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")

pytestmark = pytest.mark.skipif(SITE is None, reason="set BOOK_HTML to a built book to test it")

TF_NOISE = re.compile(r"oneDNN|cuda drivers|cuInit|absl::|cpu_feature_guard|I0000 00:00")


def pages():
    if SITE is None:
        return []
    return sorted(p.relative_to(SITE).as_posix() for p in (SITE / "book").rglob("*.html"))


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


# This machine (and CI) has no internet: the CDN scripts a published page loads (MathJax,
# thebe) can't be fetched here. Their failures are the network's, not the book's; every
# failure of a file the book itself serves still counts.
OFFLINE = re.compile(r"Failed to load resource: net::ERR_(NAME_NOT_RESOLVED|INTERNET_DISCONNECTED"
                     r"|CONNECTION_REFUSED|ADDRESS_UNREACHABLE)")


def open_page(browser, url):
    page = browser.new_page()
    problems, external_failures = [], []

    def on_console(message):
        if message.type == "error" and not (OFFLINE.search(message.text) and external_failures):
            problems.append(f"{message.text} ({message.location.get('url', '')})")

    def on_failed(request):
        (external_failures if "127.0.0.1" not in request.url else problems).append(
            f"{request.url}: {request.failure}")

    def on_response(response):
        if response.status >= 400:
            problems.append(f"HTTP {response.status} for {response.url}")

    page.on("requestfailed", on_failed)
    page.on("console", on_console)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", on_response)
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{url}: HTTP {response and response.status}"
    return page, problems


def executed_notebook(rel_html):
    """The executed copy myst-nb keeps of a notebook page, if any."""
    name = Path(rel_html).with_suffix(".ipynb")
    for candidate in (ROOT / name, SITE.parent / "jupyter_execute" / name):
        if candidate.exists():
            nb = json.loads(candidate.read_text())
            if any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"):
                return nb
    return None


@pytest.mark.parametrize("rel", pages())
def test_page_loads_cleanly_with_figures_and_numbers(browser, server, rel):
    page, problems = open_page(browser, f"{server}/{rel}")
    try:
        text = page.inner_text("main")
        assert not problems, f"{rel}: console errors {problems}"
        assert not TF_NOISE.search(text), f"{rel}: TensorFlow log lines in the page"
        assert "{glue" not in text, f"{rel}: unrendered glue"
        images = page.eval_on_selector_all(
            "main img", "els => els.map(e => [e.complete, e.naturalWidth, e.src])")
        empty = [src for done, width, src in images if not done or width == 0]
        assert not empty, f"{rel}: images that did not load: {empty}"
        nb = executed_notebook(rel)
        if nb is not None:
            pngs = sum("image/png" in o.get("data", {}) for c in nb["cells"]
                       if c["cell_type"] == "code" for o in c.get("outputs", []))
            assert len(images) >= pngs, f"{rel}: {pngs} figures executed, {len(images)} shown"
            prose = "\n".join("".join(c["source"]) for c in nb["cells"]
                              if c["cell_type"] == "markdown")
            glued = len(re.findall(r"\{glue:text\}", prose))
            pasted = page.eval_on_selector_all(".pasted-text", "els => els.length")
            assert pasted >= glued, f"{rel}: {glued} glued numbers, {pasted} rendered"
    finally:
        page.close()


def test_search_finds_softmax(browser, server):
    page, problems = open_page(browser, f"{server}/search.html?q=softmax")
    try:
        page.wait_for_selector("ul.search li", timeout=15000)
        hits = page.eval_on_selector_all("ul.search li a", "els => els.map(e => e.href)")
        assert any("activation" in h for h in hits), hits
        assert not problems, problems
    finally:
        page.close()


def test_every_triage_link_resolves(browser, server):
    page, _ = open_page(browser, f"{server}/book/triage.html")
    try:
        links = page.eval_on_selector_all("main table a", "els => els.map(e => e.href)")
    finally:
        page.close()
    assert len(links) >= 5
    for link in set(links):
        target, problems = open_page(browser, link)
        target.close()
        assert not problems, f"{link}: {problems}"
