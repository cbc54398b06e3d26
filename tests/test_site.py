"""The built book, opened in a real headless Chromium (Debian's package, no download).

Runs only when BOOK_HTML names a built site (CI sets it after `jupyter-book build`):

    BOOK_HTML=_build/html pytest tests/test_site.py -p no:xdist -o addopts=""

The browser gets no network: every request that leaves the site is aborted, as for a
reader offline or one who opened _build/html from disk. So the math must render from the
MathJax the site serves itself, and no page may depend on anything else from outside.
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
from playwright.sync_api import TimeoutError as PlaywrightTimeout

SITE = Path(os.environ.get("BOOK_HTML", "")).resolve() if os.environ.get("BOOK_HTML") else None
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")

pytestmark = pytest.mark.skipif(SITE is None, reason="set BOOK_HTML to a built book to test it")

TF_NOISE = re.compile(r"oneDNN custom operations|cuda drivers|cuInit|absl::|cpu_feature_guard"
                      r"|I0000 00:00")
# Where the build machine keeps Python packages and notebook kernels: a warning printed
# with its file name shows these, and they mean nothing to a reader.
MACHINE_PATH = re.compile(r"site-packages|dist-packages|/ipykernel_\d+/")
# A desktop window and a narrow one (a tablet upright, a phone on its side).
WIDTHS = {"desktop": 1400, "narrow": 600}
HEIGHT = 900


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


def open_page(browser, url):
    """The page with every request off the site aborted; its console errors and failures."""
    page = browser.new_page(viewport={"width": WIDTHS["desktop"], "height": HEIGHT})
    problems = []
    local = url.split("/", 3)[:3]  # scheme, "", host:port of the test server

    def only_the_site(route):
        if route.request.url.split("/", 3)[:3] == local or route.request.url.startswith(
                ("data:", "blob:")):
            route.continue_()
        else:
            problems.append(f"asks the network for {route.request.url}")
            route.abort()

    def on_response(response):
        if response.status >= 400:
            problems.append(f"HTTP {response.status} for {response.url}")

    page.route("**/*", only_the_site)
    page.on("console", lambda m: m.type == "error" and problems.append(
        f"{m.text} ({m.location.get('url', '')})"))
    page.on("requestfailed", lambda r: problems.append(f"{r.url}: {r.failure}"))
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", on_response)
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{url}: HTTP {response and response.status}"
    if page.evaluate("() => document.querySelector('.math') !== null"):
        # MathJax typesets after the load event; its promise settles when the page is done.
        try:
            page.wait_for_function("() => window.MathJax?.startup?.promise", timeout=20000)
            page.evaluate("() => MathJax.startup.promise")
        except PlaywrightTimeout:
            problems.append("MathJax did not start: the page's math stays TeX source")
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


MATH_JS = """() => [...document.querySelectorAll('main .math')].map(el => [
    el.querySelector('mjx-container') !== null,
    el.querySelector('mjx-merror, [data-mjx-error]') !== null,
    el.innerText.trim().slice(0, 60)])"""


@pytest.fixture(scope="module")
def visit(browser, server):
    """Each page opened once: what every test below reads from it. Opening a page is most
    of this module's time, so the page, math, clipping and triage tests share one visit."""
    seen = {}

    def read(rel):
        if rel not in seen:
            seen[rel] = read_page(browser, server, rel)
        return seen[rel]
    return read


def read_page(browser, server, rel):
    page, problems = open_page(browser, f"{server}/{rel}")
    try:
        found = {
            "problems": problems,
            "text": page.inner_text("main"),
            "images": page.eval_on_selector_all(
                "main img", "els => els.map(e => [e.complete, e.naturalWidth, e.src])"),
            "pasted": page.eval_on_selector_all(".pasted-text", "els => els.length"),
            "scripts": page.eval_on_selector_all(
                "script[src*=mathjax]", "els => els.map(e => e.src)"),
            "maths": page.evaluate(MATH_JS),
            "prose": page.eval_on_selector_all(  # text outside code, where TeX may be quoted
                "main article :is(p, li, td, th, dd, dt, h1, h2, h3, figcaption)",
                "els => els.filter(e => !e.closest('pre')).map(e => e.innerText)"
                ".join('\\n')"),
            "links": page.eval_on_selector_all("main table a", "els => els.map(e => e.href)"),
            "clipped": {},
        }
        for name, width in WIDTHS.items():  # last: it resizes the window
            page.set_viewport_size({"width": width, "height": HEIGHT})
            page.wait_for_timeout(100)  # let the theme's resize handlers run
            clipped = page.evaluate(CLIPPED_JS, name == "desktop")
            if clipped:
                found["clipped"][f"{name} ({width} px)"] = clipped
    finally:
        page.close()
    found["problems"] = list(problems)
    return found


@pytest.mark.parametrize("rel", pages())
def test_page_loads_cleanly_with_figures_and_numbers(visit, rel):
    seen = visit(rel)
    text, images = seen["text"], seen["images"]
    assert not seen["problems"], f"{rel}: console errors {seen['problems']}"
    assert not TF_NOISE.search(text), f"{rel}: TensorFlow log lines in the page"
    # The HTML, not only the visible text: a collapsed output counts too.
    html = (SITE / rel).read_text()
    assert not MACHINE_PATH.search(html), \
        f"{rel}: a machine path ({MACHINE_PATH.search(html)[0]}) in the page"
    assert "{glue" not in text, f"{rel}: unrendered glue"
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
        assert seen["pasted"] >= glued, f"{rel}: {glued} glued numbers, {seen['pasted']} rendered"


def pages_with_math():
    return [rel for rel in pages() if 'class="math' in (SITE / rel).read_text()]


def test_some_pages_have_math():
    assert SITE is None or len(pages_with_math()) >= 3, pages_with_math()


@pytest.mark.parametrize("rel", pages_with_math())
def test_math_renders_without_network(visit, server, rel):
    seen = visit(rel)
    scripts, maths, prose = seen["scripts"], seen["maths"], seen["prose"]
    assert not seen["problems"], f"{rel}: {seen['problems']}"
    assert scripts and all(src.startswith(server) for src in scripts), scripts
    raw = [tex for typeset, _, tex in maths if not typeset]
    assert not raw, f"{rel}: {len(raw)} of {len(maths)} formulas left as TeX: {raw[:3]}"
    errors = [tex for _, error, tex in maths if error]
    assert not errors, f"{rel}: MathJax could not typeset {errors}"
    assert "\\(" not in prose and "\\[" not in prose, f"{rel}: raw TeX delimiters in the text"


# Every table, code block, formula and figure in the text column fits it, or scrolls
# sideways inside a box of its own that fits it; nothing is cut off by a box that hides its
# overflow, and nothing runs past the column under the sidebar or off the screen. A table
# that scrolls must fit in the window: one taller than the window has its scrollbar below
# the fold, so its right-hand columns are hidden with nothing on screen to say so. Printed
# output and warnings wrap instead (book.css), so on a desktop they never scroll.
CLIPPED_JS = """(desktop) => {
  const article = document.querySelector('main article') || document.querySelector('main');
  const column = article.getBoundingClientRect();
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const name = el => `${el.tagName.toLowerCase()} "${(el.innerText || el.getAttribute('alt')
                      || '').trim().replace(/\\s+/g, ' ').slice(0, 50)}"`;
  const found = [];
  const boxes = article.querySelectorAll('table, pre, mjx-container[display="true"], img');
  for (const el of boxes) {
    if (el.parentElement.closest('table, pre, mjx-container')) continue;  // judged whole
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height) continue;  // not shown (a closed dropdown)
    const own = getComputedStyle(el).overflowX;
    let right = box.right, scroller = null;
    if (el.scrollWidth > el.clientWidth + 1) {
      if (scrolls(el)) scroller = el;
      else if (own !== 'visible') { found.push(`${name(el)} cuts off its own content`); continue; }
      else right = box.left + el.scrollWidth;
    }
    for (let a = el.parentElement; !scroller && a && a !== article; a = a.parentElement) {
      const outer = a.getBoundingClientRect();
      if (getComputedStyle(a).overflowX === 'visible' || right <= outer.right + 1) continue;
      if (scrolls(a)) scroller = a;
      else {
        found.push(`${name(el)} is cut off by <${a.tagName.toLowerCase()} class="${a.className}">`);
        right = null;
        break;
      }
    }
    if (right === null) continue;
    if (scroller) {
      const outer = scroller.getBoundingClientRect();
      const wider = Math.round(outer.right - column.right);
      const hidden = Math.round(scroller.scrollWidth - scroller.clientWidth);
      if (wider > 1)
        found.push(`${name(el)} scrolls in a box ${wider} px wider than the text`);
      else if (desktop && hidden > 1 && el.tagName === 'PRE' && el.closest('.cell_output'))
        found.push(`${name(el)} is output that hides ${hidden} px on the right`);
      else if (hidden > 1 && el.tagName === 'TABLE' && outer.height > window.innerHeight)
        found.push(`${name(el)} hides ${hidden} px on the right and is `
                   + `${Math.round(outer.height)} px tall: its scrollbar is below the fold`);
    } else if (right > column.right + 1) {
      found.push(`${name(el)} runs ${Math.round(right - column.right)} px past the text`);
    }
  }
  return found;
}"""


@pytest.mark.parametrize("rel", pages())
def test_no_table_or_code_is_clipped(visit, rel):
    found = visit(rel)["clipped"]
    assert not found, f"{rel}: {found}"


def test_search_finds_softmax(browser, server):
    page, problems = open_page(browser, f"{server}/search.html?q=softmax")
    try:
        page.wait_for_selector("ul.search li", timeout=15000)
        hits = page.eval_on_selector_all("ul.search li a", "els => els.map(e => e.href)")
        assert any("activation" in h for h in hits), hits
        assert not problems, problems
    finally:
        page.close()


def test_every_triage_link_resolves(visit, server):
    links = visit("book/triage.html")["links"]
    assert len(links) >= 5
    for link in sorted(set(links)):
        assert link.startswith(server + "/"), f"triage links off the site: {link}"
        rel = link[len(server) + 1:].split("#", 1)[0]
        assert (SITE / rel).is_file(), f"{link}: no such page"
        problems = visit(rel)["problems"]
        assert not problems, f"{link}: {problems}"
