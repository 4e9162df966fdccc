"""The book builds with warnings as errors, has a page per table-of-contents entry, and loads no
script from the network. The build is the session fixture ``html`` in conftest.py."""

import re

import pytest
import yaml

from perfcost.book.chapters import chapter_parameters, find_chapters
from perfcost.capacity import CapacityQuestion, cheapest_instance

pytestmark = pytest.mark.slow


def toc_files(root):
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def pages(html):
    return [p for p in html.rglob("*.html") if "_static" not in p.parts]


def test_every_toc_entry_has_a_page(root, html):
    for entry in toc_files(root):
        assert (html / f"{entry}.html").is_file(), entry


def test_every_chapter_is_in_the_toc(root):
    assert {f"analyses/{name}" for name in find_chapters(root)} <= set(toc_files(root))


def test_no_page_loads_script_or_style_from_the_network(html):
    for page in pages(html):
        text = page.read_text()
        remote = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//[^"]+"', text)
        assert not [tag for tag in remote if "stylesheet" in tag or "<script" in tag], page


def test_no_page_carries_the_unused_thebe_configuration(html):
    for page in pages(html):
        text = page.read_text()
        assert "THEBE_JS_URL" not in text and "sphinx-thebe." not in text, page


def test_chart_pages_load_vega_once_and_draw_each_chart(html):
    page = (html / "analyses/capacity.html").read_text()
    assert page.count("perfcost/vega-bundle.js") == 1
    assert page.count("perfcost/charts.js") == 1
    assert page.count('class="perfcost-chart"') == 2
    assert (html / "analyses/cost.html").read_text().count('class="perfcost-chart"') == 4
    assert (html / "analyses/batching.html").read_text().count('class="perfcost-chart"') == 3
    assert (html / "analyses/compression.html").read_text().count('class="perfcost-chart"') == 1
    assert "mathjax/tex-svg.js" in page
    for name in ("perfcost/vega-bundle.js", "perfcost/charts.js", "mathjax/tex-svg.js"):
        assert (html / "_static" / name).stat().st_size > 0
    assert "vega-bundle.js" not in (html / "book/references.html").read_text()


def test_every_chart_is_a_numbered_figure_described_for_screen_readers(html):
    for chapter in ("capacity", "cost", "batching", "compression", "design"):
        page = (html / f"analyses/{chapter}.html").read_text()
        charts = re.findall(r'<div class="perfcost-chart"[^>]*>', page)
        assert charts, chapter
        for div in charts:
            assert 'role="img"' in div and re.search(r'aria-label="[^"]{40,}"', div), div
        figures = re.findall(r'<figure[^>]*id="fig-[^"]+"', page)
        assert len(figures) >= len(charts), chapter
        assert page.count('class="caption-number"') >= len(figures), chapter
        assert "NBVAL_CHECK_OUTPUT" not in page, chapter  # the checker's marker, not the reader's


def test_prose_shows_the_computed_answer(root, html):
    defaults = {p.name: p.default
                for p in chapter_parameters(find_chapters(root)["capacity"]).values()}
    question = CapacityQuestion(**defaults)
    fleet = cheapest_instance(question.options, question.request_rate_rps,
                              question.latency_slo_ms, question.utilization_target)
    text = re.sub(r"<[^>]+>", "", (html / "analyses/capacity.html").read_text())
    assert f"{fleet.count} × {fleet.instance.name}" in text
    assert f"${fleet.monthly_usd:,.0f} a month" in text
