"""Glued results round-trip, and charts that draw without a network."""

import json
import math

import altair as alt
import nbformat
import numpy as np
import pandas as pd
import pytest

from perfcost.book import charts
from perfcost.book.results import GLUE_MIME_PREFIX, _plain, glued_results
from perfcost.book.sphinxext import VegaLiteMimeRenderer, _write_static_files
from perfcost.validation import ParameterError


def glue_output(name, text):
    return nbformat.v4.new_output(
        "display_data", data={GLUE_MIME_PREFIX + "text/plain": text},
        metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_MIME_PREFIX}},
    )


def test_glued_results_reads_scalars_back():
    cell = nbformat.v4.new_code_cell("glue(...)")
    cell.outputs = [glue_output("count", "4"), glue_output("cost", "1535.92"),
                    glue_output("name", "'g4dn.xlarge'"), glue_output("chart", "<Chart>"),
                    nbformat.v4.new_output("stream", text="printed, not glued")]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x"), cell])
    assert glued_results(notebook) == {"count": 4, "cost": 1535.92, "name": "g4dn.xlarge",
                                       "chart": "<Chart>"}


def test_glue_stores_plain_python_and_refuses_non_finite():
    assert type(_plain("x", np.float64(2.5))) is float
    assert type(_plain("x", np.int64(3))) is int
    assert _plain("x", True) is True
    for bad in (math.nan, np.inf, [1, 2]):
        with pytest.raises(ParameterError, match="glued result 'x'"):
            _plain("x", bad)


def test_glue_fields_reads_attributes_keys_and_rows(monkeypatch):
    from dataclasses import dataclass

    from perfcost.book import results

    glued = {}
    monkeypatch.setattr(results, "glue", lambda name, value: glued.__setitem__(name, value))

    @dataclass(frozen=True)
    class Fleet:
        instances: int = 3
        monthly_usd: float = 10.5

    results.glue_fields(Fleet(), ["instances", "monthly_usd"])
    results.glue_fields({"rate": 2.0}, ["rate"], prefix="peak_")
    results.glue_fields(pd.Series({"accuracy": 0.9}), ["accuracy"], prefix="fp32_")
    usd = pd.Series({"fp32": 7.5, "int8": 2.5})
    results.glue_fields(usd, usd.index, suffix="_monthly_usd")
    assert glued == {"instances": 3, "monthly_usd": 10.5, "peak_rate": 2.0,
                     "fp32_accuracy": 0.9, "fp32_monthly_usd": 7.5,
                     "int8_monthly_usd": 2.5}
    with pytest.raises(AttributeError):
        results.glue_fields(Fleet(), ["missing"])


def simple_chart():
    data = pd.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2]})
    return alt.Chart(data).mark_line().encode(x="x:Q", y="y:Q")


def test_figure_holds_the_spec_and_no_script_to_fetch():
    figure = charts.show(simple_chart())
    bundle = figure._repr_mimebundle_()
    assert bundle[charts.VEGALITE_MIME]["mark"]["type"] == "line"
    html = bundle["text/html"]
    assert 'class="perfcost-chart"' in html and "src=" not in html
    spec = html.split('class="perfcost-chart-spec">', 1)[1].rsplit("</script>", 1)[0]
    assert json.loads(spec) == figure.spec
    assert figure.spec["config"]["font"] == charts.THEME["font"]
    assert figure.element_id == charts.show(simple_chart()).element_id  # stable across runs


def test_a_charts_own_config_wins_over_the_theme():
    figure = charts.show(simple_chart().configure(font="serif"))
    assert figure.spec["config"]["font"] == "serif"


def test_script_end_tags_in_data_cannot_break_out():
    data = pd.DataFrame({"x": [1], "label": ["</script><script>alert(1)</script>"]})
    html = charts.show(alt.Chart(data).mark_text().encode(x="x:Q", text="label:N")).to_html()
    assert html.count("</script>") == 1


def test_the_slo_line_has_the_slo_colour():
    layer = charts.quantile_vs_utilization_chart(
        pd.DataFrame({"utilization": [0.1, 0.5], "p95_ms": [10.0, 20.0], "fleet": ["1", "1"]}), 50)
    rule = layer.to_dict()["layer"][1]["layer"][0]
    assert rule["mark"]["color"] == charts.COLORS["slo"]


def test_static_files_bundle_vega_and_mathjax(tmp_path):
    _write_static_files(tmp_path)
    bundle = (tmp_path / "perfcost/vega-bundle.js").read_text()
    assert "window.vegaEmbed" in bundle and len(bundle) > 100_000
    assert "vegaEmbed" in (tmp_path / "perfcost/charts.js").read_text()
    assert (tmp_path / "mathjax/tex-svg.js").stat().st_size > 100_000


def test_vegalite_output_renders_to_nothing_and_other_types_are_declined():
    class Data:
        def __init__(self, mime_type):
            self.mime_type = mime_type

    assert VegaLiteMimeRenderer.handle_mime(None, Data(charts.VEGALITE_MIME), False) == []
    assert VegaLiteMimeRenderer.handle_mime(None, Data("text/html"), False) is None


def test_thinned_keeps_a_chart_under_altairs_row_limit():
    import pandas as pd

    from perfcost.book.charts import thinned

    frame = pd.DataFrame({"t_s": range(10_001)})
    kept = thinned(frame, max_rows=1_000)
    assert len(kept) <= 1_000 and kept["t_s"].iloc[0] == 0 and kept["t_s"].diff().nunique() == 1
    assert thinned(frame.head(10)).equals(frame.head(10))


@pytest.mark.parametrize("max_rows", [0, 1.5, -1, 10**9])
def test_thinned_refuses_a_row_count_it_cannot_honour(max_rows):
    import pandas as pd

    from perfcost.book.charts import thinned
    from perfcost.validation import ParameterError

    with pytest.raises(ParameterError, match="max_rows must be a whole number in"):
        thinned(pd.DataFrame({"t": [1, 2]}), max_rows)


@pytest.mark.parametrize("name", [5, "", "a\nb", "two words"])
def test_glue_names_are_identifiers(name):
    from perfcost.book.results import glue
    from perfcost.validation import ParameterError

    with pytest.raises(ParameterError, match="name must be a glue name"):
        glue(name, 1)


# Screen readers: every chart function describes what it draws, from its own data.
DESCRIBED_CHARTS = [
    (charts.quantile_vs_utilization_chart,
     (pd.DataFrame({"utilization": [0.1, 0.9], "p95_ms": [10.0, 90.0],
                    "fleet": ["4 instances", "4 instances"]}), 50), {},
     ["utilisation from 10% to 90%", "4 instances", "SLO at 50 ms"]),
    (charts.cost_vs_rate_chart,
     (pd.DataFrame({"request_rate_rps": [100.0, 2500.0], "monthly_usd": [1.0, 2.0],
                    "instance": ["c6i.xlarge", "g5.xlarge"]}),), {},
     ["c6i.xlarge and g5.xlarge", "from 100 to 2,500 requests/s"]),
    (charts.waterfall_chart,
     (pd.DataFrame({"order": [0, 1, 2], "label": ["baseline", "spot", "with the plan"],
                    "detail": ["", "", ""], "start_usd": [0.0, 900.0, 0.0],
                    "end_usd": [900.0, 600.0, 600.0],
                    "kind": ["total", "saving", "total"]}),), {},
     ["baseline $900; spot −$300; with the plan $600."]),
    (charts.gain_sweep_chart,
     (pd.DataFrame({"gain": [0.1, 10.0], "reversals": [1, 9],
                    "controller": ["AIMD", "AIMD"]}),), {},
     ["from 0.1 to 10", "(AIMD)"]),
    (charts.design_day_chart,
     (pd.DataFrame({"policy": ["fixed", "tracking"], "hour": [0.0, 0.0],
                    "demand_rps": [5.0, 5.0], "ordered": [2, 1]}),), {},
     ["fixed and tracking"]),
]


@pytest.mark.parametrize(("make", "args", "kwargs", "phrases"), DESCRIBED_CHARTS,
                         ids=lambda v: getattr(v, "__name__", ""))
def test_each_chart_describes_its_own_data_for_screen_readers(make, args, kwargs, phrases):
    figure = charts.show(make(*args, **kwargs))
    for phrase in phrases:
        assert phrase in figure.description
    assert f'role="img" aria-label="{figure.description}' in figure.to_html().replace(
        "&#x27;", "'")


def test_the_what_if_chart_says_which_bar_is_which_and_where_the_sliders_start():
    expressions = {"compute": "1", "egress_direct": "2", "egress_eu_relay": "3", "storage": "4"}
    figure = charts.show(charts.what_if_bill_chart(
        expressions, rate_rps=500, eu_share=0.3, response_kb=10, max_rate_rps=5000,
        max_response_kb=160))
    said = figure.description
    assert said.index(charts.WHAT_IF_ROUTES[0]) < said.index("on the left")
    assert said.index(charts.WHAT_IF_ROUTES[1]) < said.index("on the right")
    assert "from 500 requests/s" in said and "from 30%" in said and "from 10 kB" in said


def test_a_description_cannot_break_out_of_its_attribute():
    data = pd.DataFrame({"utilization": [0.5], "p95_ms": [1.0], "fleet": ['"><script>']})
    html = charts.show(charts.quantile_vs_utilization_chart(data, 10)).to_html()
    opening_tag = html.split("<script", 1)[0]
    assert '"><' not in opening_tag and "&quot;&gt;&lt;script&gt;" in opening_tag


def test_a_chart_without_a_description_is_not_labelled():
    assert "aria-label" not in charts.show(simple_chart()).to_html()


def test_long_lists_are_shortened_and_empty_ones_named():
    assert charts._listed(["a", "b", "c"]) == "a, b and c"
    assert charts._listed(list("abcdefgh"), limit=4) == "a, b, c and 5 more"
    assert charts._listed([]) == "none"


def test_the_nbval_marker_is_dropped_from_the_shown_code_only():
    from perfcost.book.sphinxext import without_marker

    assert without_marker("# NBVAL_CHECK_OUTPUT\nprint(1)") == "print(1)"
    assert without_marker("x = 1  # NBVAL_CHECK_OUTPUT is a marker") == (
        "x = 1  # NBVAL_CHECK_OUTPUT is a marker")
