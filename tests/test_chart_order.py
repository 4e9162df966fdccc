"""The what-if chart of chapter 2 draws its bars in the order the prose names them."""

import re

import pytest
import vl_convert
from cost_fixtures import QUESTION

from perfcost.book import charts
from perfcost.pricing import load_catalog
from perfcost.what_if import what_if_expressions

DIRECT, RELAYED = charts.WHAT_IF_ROUTES
LABEL = re.compile(r'<text[^>]*transform="translate\(([\d.\-]+),[\d.\-]+\)"[^>]*>([^<]*)</text>')


def what_if_spec(**changes) -> dict:
    inputs = {"rate_rps": 500.0, "eu_share": 0.3, "response_kb": 10.0,
              "max_rate_rps": 5000.0, "max_response_kb": 200.0, **changes}
    expressions = what_if_expressions(QUESTION, load_catalog())
    return charts.show(charts.what_if_bill_chart(expressions, **inputs)).spec


def x_encodings(spec: dict) -> list[dict]:
    return [layer["encoding"]["x"] for layer in spec["layer"]]


def test_the_direct_route_is_the_left_bar_by_name():
    assert "direct" in DIRECT and "relayed" in RELAYED


def test_every_layer_sorts_the_routes_direct_first():
    encodings = x_encodings(what_if_spec())
    assert len(encodings) == 2  # the bars and their totals
    for x in encodings:
        assert x["field"] == "route"
        assert x["sort"] == [DIRECT, RELAYED]


@pytest.mark.parametrize("eu_share", [0.0, 0.3, 1.0])
def test_the_drawn_chart_puts_direct_left_and_its_total_above_it(eu_share):
    svg = vl_convert.vegalite_to_svg(what_if_spec(eu_share=eu_share))
    x_of = {text: float(x) for x, text in LABEL.findall(svg)}
    assert x_of[DIRECT] < x_of[RELAYED]
    totals = sorted((float(x), text) for x, text in LABEL.findall(svg)
                    if text.startswith("$") and float(x) > 0)
    assert len(totals) == 2
    assert abs(totals[0][0] - x_of[DIRECT]) < 1
    assert abs(totals[1][0] - x_of[RELAYED]) < 1
