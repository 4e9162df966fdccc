"""The built book in a real browser, offline: every page loads without a script error, every chart
draws, the search page finds a chapter by a word of its text, and chapter 2's what-if sliders
move the drawn totals to what the library computes for the same inputs.

Headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by Selenium, on the book
the session builds once (fixture ``html`` in conftest.py), served over http from a thread on
127.0.0.1 so the search page loads ``searchindex.js`` as on a real site. Without Chromium the
tests skip with the command that installs it, except under CI (``CI`` set), where they fail.
To iterate on them without a build, point ``PERFCOST_BOOK_HTML`` at a built ``_build/html``::

    PERFCOST_BOOK_HTML=/tmp/book/_build/html .venv/bin/python -m pytest tests/test_browser.py -s

Each check's wall time is printed at the end of the run (and per page with ``-s``); none is
asserted.
"""

import functools
import http.server
import os
import re
import shutil
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from perfcost.book.chapters import chapter_parameters, find_chapters
from perfcost.cost import CostQuestion, monthly_bill

pytestmark = pytest.mark.slow

INSTALL = "apt-get install chromium chromium-driver"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # Without these Chromium phones home at start-up, which a closed network refuses.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,1024",
)
WAIT_S = 20  # the longest a page may take to load, or to draw its charts
# The browser asks every site for /favicon.ico by itself; the book has none and links none.
IGNORED_LOG = re.compile(r"/favicon\.ico - Failed to load resource")
# The what-if chart's sliders (Vega params) and the values the test moves them to: on each
# slider's step grid, away from the chapter's defaults (500 requests/s, 30 %, 10 kB), and a
# rate that no whole number of instances serves exactly (1,250 / 100 = 12.5).
SLIDERS = {"rate": 1250, "eu": 0.55, "response_kb": 37}

# Per chart: "drawn" (an SVG with marks, or a canvas), "failed: why" (charts.js wrote its error
# into the div) or "pending".
CHART_STATES = """
return Array.from(document.querySelectorAll("div.perfcost-chart")).map(function (el) {
  if (el.querySelector("svg g.role-mark > *")) return "drawn";
  var canvas = el.querySelector("canvas");
  if (canvas && canvas.width > 0 && canvas.height > 0) return "drawn";
  if (/could not be drawn/.test(el.textContent)) return "failed: " + el.textContent.trim();
  return "pending";
});
"""
# The what-if chart's drawn totals: [aria-label, shown text] of each text mark.
DRAWN_TOTALS = """
var chart = arguments[0];
return Array.from(chart.querySelectorAll("svg g.mark-text.role-mark text")).map(
  function (t) { return [t.getAttribute("aria-label") || "", t.textContent]; });
"""
MOVE_SLIDER = """
var input = arguments[0];
input.value = String(arguments[1]);
input.dispatchEvent(new Event("input", {bubbles: true}));
input.dispatchEvent(new Event("change", {bubbles: true}));
return Number(input.value);
"""


def _browser_tools() -> tuple[str, str]:
    """Chromium and chromedriver, or a skip that says how to install them (a failure under CI)."""
    # Debian's packages first; GitHub's Ubuntu runners ship Google Chrome and its driver.
    chromium = next((p for p in ("/usr/bin/chromium", *map(shutil.which, BROWSERS))
                     if p and os.access(p, os.X_OK)), None)
    driver_folder = os.environ.get("CHROMEWEBDRIVER", "")
    driver = next((p for p in ("/usr/bin/chromedriver", shutil.which("chromedriver"),
                               driver_folder and str(Path(driver_folder) / "chromedriver"))
                   if p and os.access(p, os.X_OK)), None)
    missing = [name for name, path in (("chromium", chromium), ("chromedriver", driver))
               if not path]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        message = f"no {', '.join(missing)} for the browser tests; install with: {INSTALL}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run them)")
        pytest.skip(message)
    return chromium, driver


@pytest.fixture(scope="session", autouse=True)
def browser_tools() -> tuple[str, str]:
    """Checked first (autouse): a machine without Chromium skips before the book is built."""
    return _browser_tools()


@pytest.fixture(scope="module")
def site(browser_tools, html):
    """The built book over http on 127.0.0.1, from a thread; yields its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(browser_tools, tmp_path_factory):
    """One headless Chromium for the module, with a fresh profile and its console log kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = browser_tools
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager is not asked to find (or download) one.
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(WAIT_S)
    driver.set_script_timeout(WAIT_S)
    yield driver
    driver.quit()


@pytest.fixture(autouse=True)
def timed(request, record_property):
    """Record each check's wall time (``check_s``), which conftest.py prints after the run."""
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    record_property("check_s", round(seconds, 2))
    print(f"\n[browser] {request.node.name}: {seconds:.1f} s")


def wait_for(condition, what: str, timeout_s: float = WAIT_S, poll_s: float = 0.05,
             fail: bool = True):
    """Poll ``condition()`` until it returns a truthy value; after ``timeout_s``, fail (or, with
    ``fail=False``, return the last value)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            if fail:
                pytest.fail(f"gave up after {timeout_s} s waiting for {what}")
            return value
        time.sleep(poll_s)


def book_pages(html: Path) -> list[str]:
    """Every HTML page of the book, as paths relative to its root."""
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if not {"_static", "_sources"} & set(p.relative_to(html).parts))


def errors_in(log: list[dict]) -> list[str]:
    """The SEVERE console entries (script errors, failed loads) that are the book's own."""
    return [entry["message"] for entry in log
            if entry["level"] == "SEVERE" and not IGNORED_LOG.search(entry["message"])]


@pytest.fixture(scope="module")
def visits(browser, site, html) -> dict[str, dict]:
    """Each page loaded once: its console errors and its charts' states once all are settled."""
    browser.get_log("browser")  # start with an empty log
    found = {}
    for page in book_pages(html):
        start = time.perf_counter()
        divs = (html / page).read_text().count('class="perfcost-chart"')
        browser.get(f"{site}/{page}")
        states = []
        if divs:  # a chart still pending after WAIT_S is reported by test_every_chart_draws
            wait_for(lambda: "pending" not in browser.execute_script(CHART_STATES),
                     f"the charts on {page} to draw", fail=False)
            states = browser.execute_script(CHART_STATES)
        found[page] = {"errors": errors_in(browser.get_log("browser")), "divs": divs,
                       "charts": states, "seconds": time.perf_counter() - start}
    for page, seen in found.items():
        print(f"\n[browser]   {page}: {seen['divs']} charts, {seen['seconds']:.2f} s")
    print(f"\n[browser] visited {len(found)} pages in "
          f"{sum(seen['seconds'] for seen in found.values()):.1f} s")
    return found


def test_no_page_logs_a_script_error(visits, record_property):
    record_property("pages", len(visits))
    record_property("page_visits_s", round(sum(seen["seconds"] for seen in visits.values()), 2))
    assert len(visits) > 5
    errors = {page: seen["errors"] for page, seen in visits.items() if seen["errors"]}
    assert not errors


def test_every_chart_draws(visits):
    divs = {page: seen["divs"] for page, seen in visits.items()}
    drawn = {page: seen["charts"].count("drawn") for page, seen in visits.items()}
    not_drawn = {page: [s for s in seen["charts"] if s != "drawn"]
                 for page, seen in visits.items() if set(seen["charts"]) - {"drawn"}}
    assert not not_drawn
    assert drawn == divs
    assert sum(drawn.values()) >= 10  # the chapters held 12 charts when this was written


def words(page_html: str) -> Counter:
    """Words of 8 letters or more in a page's article (what the search index holds), counted."""
    article = re.search(r"<article\b.*?</article>", page_html, flags=re.S)
    text = re.sub(r"<script\b.*?</script>|<[^>]+>", " ", article[0] if article else "",
                  flags=re.S)
    return Counter(re.findall(r"\b[a-z]{8,}\b", text.lower()))


def test_search_page_finds_a_chapter_by_a_word_of_its_text(browser, site, html):
    chapter = "analyses/cost.html"
    others = [set(words((html / page).read_text())) for page in book_pages(html)
              if page != chapter]
    # The word of the chapter's text on the fewest other pages, then its most frequent.
    word = min(words((html / chapter).read_text()).items(),
               key=lambda item: (sum(item[0] in other for other in others), -item[1], item[0]))[0]
    browser.get(f"{site}/search.html?q={word}")
    summary = wait_for(lambda: browser.execute_script(
        'var s = document.querySelector("#search-results .search-summary");'
        "return s && s.textContent;"), f"the search for {word!r} to finish")
    links = browser.execute_script(
        'return Array.from(document.querySelectorAll("#search-results ul.search li a"))'
        ".map(function (a) { return a.getAttribute('href'); });")
    print(f"\n[browser]   searched {word!r}: {summary.strip()} {links}")
    assert any(link.split("?")[0].split("#")[0].endswith(chapter) for link in links), (word, links)
    assert not errors_in(browser.get_log("browser"))


def cost_question(root: Path) -> CostQuestion:
    """Chapter 2's own question: its notebook's parameter defaults."""
    defaults = {p.name: p.default
                for p in chapter_parameters(find_chapters(root)["cost"]).values()}
    return CostQuestion(**defaults)


def library_totals(question: CostQuestion, **inputs) -> dict[str, float]:
    """The monthly bill by egress route for the what-if inputs, as perfcost.cost computes it."""
    service = replace(question.service, request_rate_rps=inputs["rate"],
                      eu_egress_fraction=inputs["eu"], response_kb=inputs["response_kb"])
    catalog = question.catalog()
    return {route: monthly_bill(replace(service, egress_route=route), catalog).total_usd
            for route in ("direct", "eu_relay")}


def drawn_totals(browser, chart) -> dict[str, tuple[float, str]]:
    """The chart's total per bar, by the bar's label: ``{"direct": (value, "$10,287"), ...}``.

    Bars are told apart by their route label (the one naming a relay is ``eu_relay``), never by
    their order on the axis.
    """
    totals = {}
    for label, shown in browser.execute_script(DRAWN_TOTALS, chart):
        match = re.fullmatch(r"route: (.+); total: (.+)", label)
        assert match, label
        route = "eu_relay" if "relay" in match[1] else "direct"
        assert route not in totals, f"two bars for {route}: {label}"
        totals[route] = (float(match[2].replace(",", "").lstrip("$")), shown)
    return totals


def test_what_if_sliders_move_the_totals_to_the_library_values(browser, site, root):
    browser.get(f"{site}/analyses/cost.html")
    chart = wait_for(lambda: browser.execute_script(
        'var i = document.querySelector("div.perfcost-chart input[type=range][name=rate]");'
        'var c = i && i.closest("div.perfcost-chart");'
        'return c && c.querySelector("svg g.mark-text.role-mark text") && c;'),
        "chapter 2's what-if chart to draw")
    question = cost_question(root)
    before = library_totals(question, rate=question.request_rate_rps,
                            eu=question.eu_egress_fraction, response_kb=question.response_kb)
    after = library_totals(question, **SLIDERS)
    assert all(abs(after[r] - before[r]) > 1 for r in before), "the sliders must move the totals"

    def agrees(expected):
        drawn = drawn_totals(browser, chart)
        return drawn.keys() == expected.keys() and all(
            value == pytest.approx(expected[route], rel=1e-9)
            and shown == f"${expected[route]:,.0f}" for route, (value, shown) in drawn.items())

    assert agrees(before), (drawn_totals(browser, chart), before)
    for name, value in SLIDERS.items():
        slider = chart.find_element("css selector", f"input[type=range][name={name}]")
        low, high = float(slider.get_attribute("min")), float(slider.get_attribute("max"))
        assert low <= value <= high, (name, value, low, high)
        assert browser.execute_script(MOVE_SLIDER, slider, value) == pytest.approx(value)
    try:
        wait_for(lambda: agrees(after), "the drawn totals to reach the library's", timeout_s=10)
    finally:
        print(f"\n[browser]   sliders {SLIDERS}: drawn {drawn_totals(browser, chart)}, "
              f"library {after}")
    assert not errors_in(browser.get_log("browser"))
