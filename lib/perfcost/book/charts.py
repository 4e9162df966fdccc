"""Charts: one Altair theme for the whole book, and a display that works offline.

``show(chart)`` returns a :class:`Figure`. In JupyterLab it renders through the Vega-Lite MIME
type; in the built book it is a ``<div>`` holding the spec as JSON, which the page draws with the
Vega libraries that :mod:`perfcost.book.sphinxext` ships with the site (once per page, never from a
CDN). Nothing here changes Altair's global renderer or theme.

Colours mean one thing across the book (``COLORS``): the SLO line is always the same red.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass, field

import altair as alt
import pandas as pd

from perfcost.validation import ParameterError, integer_in_range

__all__ = [
    "COLORS",
    "THEME",
    "Figure",
    "batching_timeline_chart",
    "bill_sensitivity_chart",
    "compression_chart",
    "cost_vs_rate_chart",
    "design_day_chart",
    "design_frontier_chart",
    "gain_sweep_chart",
    "quantile_vs_utilization_chart",
    "show",
    "slo_rule",
    "sweep_chart",
    "thinned",
    "traffic_chart",
    "waterfall_chart",
    "what_if_bill_chart",
]

VEGALITE_MIME = f"application/vnd.vegalite.v{alt.SCHEMA_VERSION.lstrip('v').split('.')[0]}+json"

COLORS = {
    "slo": "#d62728",  # the latency SLO, everywhere
    "cpu": "#1f77b4",
    "gpu": "#ff7f0e",
    "accelerator": "#9467bd",
    "rule_of_thumb": "#7f7f7f",
    "queueing": "#2ca02c",
    "simulation": "#17becf",
    # bill components, everywhere
    "compute": "#1f77b4",
    "egress": "#ff7f0e",
    "ingress": "#bcbd22",
    "storage": "#8c564b",
    "total": "#333333",
    "saving": "#2ca02c",
}


def _component_scale(names=("compute", "egress", "ingress", "storage", "total")) -> alt.Scale:
    return alt.Scale(domain=list(names), range=[COLORS[n] for n in names])

THEME = {
    "font": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "view": {"continuousWidth": 480, "continuousHeight": 300, "stroke": None},
    "axis": {"labelFontSize": 12, "titleFontSize": 12, "titleFontWeight": "normal",
             "gridColor": "#e6e6e6"},
    # Long names wrap into columns instead of being cut off.
    "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom", "columns": 2,
               "labelLimit": 300},
    # Ten colours, none of them the SLO's red: the book's most categories in one chart is nine.
    "range": {"category": ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf",
                           "#e377c2", "#bcbd22", "#aec7e8", "#ffbb78"]},
}


@dataclass(frozen=True)
class Figure:
    """A Vega-Lite spec with the book's theme, displayable in Jupyter and in the built book."""

    spec: dict = field(repr=False)

    @property
    def element_id(self) -> str:
        """A stable id derived from the spec, so re-executed notebooks do not churn."""
        digest = hashlib.sha256(json.dumps(self.spec, sort_keys=True).encode()).hexdigest()
        return f"altair-viz-{digest[:16]}"

    @property
    def description(self) -> str:
        """What the chart shows, in words, for screen readers (the spec's ``description``)."""
        return str(self.spec.get("description", ""))

    def to_html(self) -> str:
        """The ``<div>`` the book's page script draws into; no inline JavaScript.

        With a description, the ``<div>`` is an image to screen readers, labelled with it.
        """
        spec_json = json.dumps(self.spec, sort_keys=True).replace("</", "<\\/")
        label = (f' role="img" aria-label="{html.escape(self.description, quote=True)}"'
                 if self.description else "")
        return (
            f'<div class="perfcost-chart" id="{self.element_id}"{label}>'
            f'<script type="application/json" class="perfcost-chart-spec">{spec_json}</script>'
            "</div>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {
            VEGALITE_MIME: self.spec,
            "text/html": self.to_html(),
            "text/plain": f"<perfcost chart {self.element_id}>",
        }


def _listed(values, limit: int = 6) -> str:
    """``a, b and c``; past ``limit`` items, the first ones and how many more."""
    names = [str(v) for v in dict.fromkeys(values)]
    if len(names) > limit:
        names = [*names[:limit - 1], f"{len(names) - limit + 1} more"]
    if len(names) <= 1:
        return "".join(names) or "none"
    return ", ".join(names[:-1]) + " and " + names[-1]


def _span(values, fmt: str = ",.4g") -> str:
    """``from LOW to HIGH`` of ``values``, formatted with ``fmt``."""
    return f"from {min(values):{fmt}} to {max(values):{fmt}}"


MAX_CHART_ROWS = 4_500  # Altair refuses to inline more than 5,000 rows into a spec


def thinned(frame: pd.DataFrame, max_rows: int = MAX_CHART_ROWS) -> pd.DataFrame:
    """Every k-th row of ``frame``, the smallest k that leaves at most ``max_rows``: a chart of
    a long run stays drawable (and the page small) whatever the parameters."""
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError("frame", "a pandas DataFrame", type(frame).__name__)
    max_rows = integer_in_range("max_rows", max_rows, 1, MAX_CHART_ROWS)
    step = max(1, -(-len(frame) // max_rows))
    return frame.iloc[::step]


def show(chart: alt.TopLevelMixin) -> Figure:
    """Return ``chart`` with the book's theme as a Figure; config the chart sets itself wins.

    Altair writes its own default ``config`` into every spec; entries equal to those defaults
    give way to the theme, anything else the chart configured stays.
    """
    spec = chart.to_dict()
    altair_defaults = alt.Chart().to_dict(validate=False).get("config", {})
    own = {k: v for k, v in spec.get("config", {}).items() if altair_defaults.get(k) != v}
    spec["config"] = {**THEME, **own}
    return Figure(spec)


def slo_rule(slo_ms: float) -> alt.LayerChart:
    """A dashed horizontal line at the SLO in the SLO colour, labelled "SLO <n> ms"."""
    data = pd.DataFrame({"slo_ms": [slo_ms], "label": [f"SLO {slo_ms:g} ms"]})
    base = alt.Chart(data).encode(y=alt.Y("slo_ms:Q"))
    rule = base.mark_rule(color=COLORS["slo"], strokeDash=[6, 4], strokeWidth=1.5)
    label = base.mark_text(color=COLORS["slo"], align="left", dx=4, dy=-7).encode(
        x=alt.value(0), text="label:N"
    )
    return alt.layer(rule, label)


def quantile_vs_utilization_chart(curves: pd.DataFrame, slo_ms: float) -> alt.LayerChart:
    """p95 response time against utilisation, one line per fleet size, with the SLO line.

    ``curves`` has columns ``utilization``, ``p95_ms`` and ``fleet`` (a label such as "16
    instances"), as made by :func:`perfcost.fleet_quantiles.quantile_curves`.
    """
    lines = alt.Chart(curves).mark_line(strokeWidth=2).encode(
        x=alt.X("utilization:Q", title="utilisation", axis=alt.Axis(format="%")),
        y=alt.Y("p95_ms:Q", title="p95 response time (ms)", scale=alt.Scale(type="log")),
        color=alt.Color("fleet:N", title="fleet", sort=None),
        tooltip=["fleet:N", alt.Tooltip("utilization:Q", format=".0%"),
                 alt.Tooltip("p95_ms:Q", format=".1f")],
    )
    return alt.layer(lines, slo_rule(slo_ms)).properties(description=(
        "Line chart: p95 response time in ms (log scale) against utilisation "
        f"{_span(curves['utilization'], '.0%')}, one line per fleet "
        f"({_listed(curves['fleet'])}); a dashed red line marks the SLO at {slo_ms:g} ms."))


def cost_vs_rate_chart(costs: pd.DataFrame) -> alt.Chart:
    """Monthly cost of the cheapest fleet of each instance type against the request rate.

    ``costs`` has columns ``request_rate_rps``, ``monthly_usd`` and ``instance``.
    """
    return alt.Chart(costs).mark_line(interpolate="step-after", strokeWidth=2).encode(
        x=alt.X("request_rate_rps:Q", title="request rate (requests/s)"),
        y=alt.Y("monthly_usd:Q", title="monthly cost (USD)", axis=alt.Axis(format="$,.0f")),
        color=alt.Color("instance:N", title="instance type"),
        tooltip=["instance:N", alt.Tooltip("request_rate_rps:Q", format=",.0f"),
                 alt.Tooltip("monthly_usd:Q", format="$,.0f")],
    ).properties(description=(
        "Step chart: monthly cost in USD of the cheapest fleet of each instance type "
        f"({_listed(costs['instance'])}) against the request rate, "
        f"{_span(costs['request_rate_rps'], ',.0f')} requests/s."))


def waterfall_chart(rows: pd.DataFrame) -> alt.LayerChart:
    """A before/after waterfall of a savings plan, from :func:`perfcost.savings.waterfall_rows`."""
    base = alt.Chart(rows).encode(
        x=alt.X("label:N", title=None, sort=alt.EncodingSortField("order"),
                axis=alt.Axis(labelAngle=0, labelLimit=120)),
    ).properties(width=480)
    bars = base.mark_bar().encode(
        y=alt.Y("start_usd:Q", title="monthly cost (USD)", axis=alt.Axis(format="$,.0f")),
        y2="end_usd:Q",
        color=alt.Color("kind:N", legend=None,
                        scale=alt.Scale(domain=["total", "saving"],
                                        range=[COLORS["total"], COLORS["saving"]])),
        tooltip=["label:N", "detail:N", alt.Tooltip("start_usd:Q", format="$,.0f"),
                 alt.Tooltip("end_usd:Q", format="$,.0f")],
    )
    labels = base.transform_calculate(
        amount="datum.kind == 'total' ? datum.end_usd : datum.end_usd - datum.start_usd",
        top="max(datum.start_usd, datum.end_usd)",
    ).mark_text(dy=-8).encode(y="top:Q", text=alt.Text("amount:Q", format="$,.0f"))
    return alt.layer(bars, labels).properties(
        description="Waterfall chart of the monthly bill: " + _waterfall_steps(rows) + ".")


def _waterfall_steps(rows: pd.DataFrame) -> str:
    """``baseline $10,287; rightsize −$8,357; with the plan $1,930``: totals and changes."""
    def said(row) -> str:
        if row["kind"] == "total":
            return f"{row['label']} ${row['end_usd']:,.0f}"
        change = row["end_usd"] - row["start_usd"]
        return f"{row['label']} {'−' if change < 0 else '+'}${abs(change):,.0f}"
    return "; ".join(said(row) for _, row in rows.sort_values("order").iterrows())


def bill_sensitivity_chart(sweep: pd.DataFrame, title: str) -> alt.Chart:
    """Monthly cost by component against one input (:func:`perfcost.what_if.bill_sensitivity`)."""
    return alt.Chart(sweep).mark_line(strokeWidth=2).encode(
        x=alt.X("value:Q", title=title),
        y=alt.Y("monthly_usd:Q", title="monthly cost (USD)", axis=alt.Axis(format="$,.0f")),
        color=alt.Color("component:N", title="component",
                        scale=_component_scale(tuple(dict.fromkeys(sweep["component"])))),
        tooltip=["component:N", alt.Tooltip("value:Q", format=",.4~g"),
                 alt.Tooltip("monthly_usd:Q", format="$,.0f")],
    ).properties(description=(
        f"Line chart: monthly cost in USD of each bill component "
        f"({_listed(sweep['component'])}) against {title}, {_span(sweep['value'])}."))


WHAT_IF_ROUTES = ("direct from us-east-1", "EU share relayed via an EU region")  # left, right


def what_if_bill_chart(expressions: dict[str, str], *, rate_rps: float, eu_share: float,
                       response_kb: float, max_rate_rps: float,
                       max_response_kb: float) -> alt.LayerChart:
    """A bill that recomputes in the browser as sliders move: rate, EU share, response size.

    ``expressions`` come from :func:`perfcost.what_if.what_if_expressions`; the chart holds them as
    Vega-Lite calculations over three bound parameters, so no kernel is needed.
    """
    rate = alt.param(name="rate", value=rate_rps, bind=alt.binding_range(
        min=max_rate_rps / 100, max=max_rate_rps, step=max_rate_rps / 100,
        name="request rate (requests/s) "))
    eu = alt.param(name="eu", value=eu_share, bind=alt.binding_range(
        min=0, max=1, step=0.05, name="EU share of responses "))
    size = alt.param(name="response_kb", value=response_kb, bind=alt.binding_range(
        min=1, max=max_response_kb, step=1, name="response size (kB) "))
    routes = pd.DataFrame({"route": list(WHAT_IF_ROUTES), "relay": [False, True]})
    left_to_right = list(WHAT_IF_ROUTES)  # every layer sorts the same, or Vega-Lite sorts A-Z
    components = alt.Chart(routes).properties(width=480).transform_calculate(
        compute=expressions["compute"],
        egress=(f"datum.relay ? ({expressions['egress_eu_relay']})"
                f" : ({expressions['egress_direct']})"),
        storage=expressions["storage"],
    ).transform_fold(["compute", "egress", "storage"], as_=["component", "monthly_usd"])
    bars = components.mark_bar().encode(
        x=alt.X("route:N", title=None, sort=left_to_right,
                axis=alt.Axis(labelAngle=0, labelLimit=240)),
        y=alt.Y("monthly_usd:Q", title="monthly cost (USD)", axis=alt.Axis(format="$,.0f"),
                stack="zero"),
        color=alt.Color("component:N", title="component",
                        scale=_component_scale(("compute", "egress", "storage"))),
        order=alt.Order("component:N"),
        tooltip=["route:N", "component:N", alt.Tooltip("monthly_usd:Q", format="$,.2f")],
    )
    totals = components.transform_aggregate(
        total="sum(monthly_usd)", groupby=["route"]
    ).mark_text(dy=-8).encode(
        x=alt.X("route:N", sort=left_to_right), y="total:Q",
        text=alt.Text("total:Q", format="$,.0f"),
    )
    return alt.layer(bars, totals).add_params(rate, eu, size).properties(description=(
        f"Two stacked bars of the monthly bill by component (compute, egress, storage): "
        f"{WHAT_IF_ROUTES[0]} on the left, {WHAT_IF_ROUTES[1]} on the right, each with its "
        f"total above it; three sliders set the request rate (from {rate_rps:,.6g} "
        f"requests/s), the EU share (from {eu_share:.0%}) and the response size (from "
        f"{response_kb:,.6g} kB), and the bars recompute."))


def traffic_chart(rates: pd.DataFrame) -> alt.FacetChart:
    """Arrival rate over time, one small panel per trace, each on its own scale (columns
    ``trace``, ``t_s``, ``arrival_rps``)."""
    return alt.Chart(rates).mark_line(strokeWidth=1.2).encode(
        x=alt.X("t_s:Q", title="time (s)"),
        y=alt.Y("arrival_rps:Q", title="requests/s"),
        color=alt.Color("trace:N", legend=None, sort=None),
    ).properties(height=55, width=520).facet(
        row=alt.Row("trace:N", sort=None, title=None,
                    header=alt.Header(labelAngle=0, labelAlign="left")),
    ).resolve_scale(y="independent").properties(description=(
        "Line charts of the arrival rate in requests/s against time, one panel per trace "
        f"({_listed(rates['trace'])}), each on its own scale."))


def batching_timeline_chart(timelines: pd.DataFrame, slo_ms: float) -> alt.VConcatChart:
    """Traffic, the batch limit and the p95 over time, one line per policy, SLO line on the p95.

    ``timelines`` has columns ``policy``, ``t_s``, ``arrival_rps``, ``max_batch_size``,
    ``max_wait_ms`` and ``p95_ms`` (one row per control interval and policy).
    """
    data = timelines.assign(p95_ms=timelines["p95_ms"].astype(float))
    x = alt.X("t_s:Q", title="time (s)")
    color = alt.Color("policy:N", title="policy", sort=None)
    first = data["policy"].iloc[0]
    traffic = alt.Chart(data[data["policy"] == first]).mark_area(
        opacity=0.4, color=COLORS["total"]).encode(
        x=x, y=alt.Y("arrival_rps:Q", title="arrivals/s")).properties(height=110)
    batch = alt.Chart(data).mark_line(interpolate="step-after").encode(
        x=x, y=alt.Y("max_batch_size:Q", title="max batch size"), color=color,
    ).properties(height=140)
    p95 = alt.Chart(data).mark_line().encode(
        x=x, y=alt.Y("p95_ms:Q", title="p95 per interval (ms)", scale=alt.Scale(type="log")),
        color=color,
    ).properties(height=160)
    return alt.vconcat(traffic, batch, alt.layer(p95, slo_rule(slo_ms))).properties(
        description=(
            "Three panels against time: arrivals per second; the batch limit of each "
            f"policy ({_listed(data['policy'])}); and each policy's p95 per interval in ms "
            f"(log scale), with a dashed red line at the SLO of {slo_ms:g} ms."))


def gain_sweep_chart(sweep: pd.DataFrame) -> alt.Chart:
    """Reversals of the batch limit against controller gain (columns ``controller``, ``gain``,
    ``reversals``): where a controller starts to oscillate."""
    return alt.Chart(sweep).mark_line(point=True).encode(
        x=alt.X("gain:Q", title="gain", scale=alt.Scale(type="log")),
        y=alt.Y("reversals:Q", title="reversals of the batch limit"),
        color=alt.Color("controller:N", title="controller"),
    ).properties(height=220, description=(
        "Line chart with points: reversals of the batch limit against controller gain (log "
        f"scale, {_span(sweep['gain'], '.3g')}), one line per controller "
        f"({_listed(sweep['controller'])})."))


def compression_chart(table: pd.DataFrame) -> alt.Chart:
    """Accuracy against batch-1 latency, one point per variant, sized by the ONNX file.

    ``table`` has columns ``variant``, ``latency_p50_ms``, ``accuracy``, ``accuracy_low``,
    ``accuracy_high`` and ``size_mb``; with ``latency_p50_low_ms`` and ``latency_p50_high_ms``
    too, the latency's interval is drawn across each point.
    """
    base = alt.Chart(table).encode(
        x=alt.X("latency_p50_ms:Q", title="latency at batch 1, p50 (ms)",
                scale=alt.Scale(zero=False)),
        color=alt.Color("variant:N", title="variant", sort=None),
    )
    points = base.mark_point(filled=True, opacity=0.8).encode(
        y=alt.Y("accuracy:Q", title="test accuracy", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(zero=False)),
        size=alt.Size("size_mb:Q", title="ONNX file (MB)", scale=alt.Scale(range=[40, 600])),
        tooltip=["variant:N", alt.Tooltip("accuracy:Q", format=".1%"),
                 alt.Tooltip("latency_p50_ms:Q", format=".3f"),
                 alt.Tooltip("size_mb:Q", format=".2f")],
    )
    intervals = [base.mark_rule().encode(y="accuracy_low:Q", y2="accuracy_high:Q")]
    if {"latency_p50_low_ms", "latency_p50_high_ms"} <= set(table.columns):
        intervals.append(base.mark_rule().encode(
            x="latency_p50_low_ms:Q", x2="latency_p50_high_ms:Q", y="accuracy:Q"))
    return alt.layer(*intervals, points).properties(description=(
        "Scatter chart: test accuracy against p50 latency at batch 1 in ms, one point per "
        f"variant ({_listed(table['variant'])}), sized by the ONNX file's size, with each "
        "accuracy's interval drawn through its point."))


def _budget_rule(budget_usd: float) -> alt.LayerChart:
    """A dashed horizontal line at the monthly budget, labelled."""
    data = pd.DataFrame({"budget_usd": [budget_usd], "label": [f"budget ${budget_usd:,.0f}"]})
    base = alt.Chart(data).encode(y=alt.Y("budget_usd:Q"))
    rule = base.mark_rule(color=COLORS["total"], strokeDash=[2, 3], strokeWidth=1.5)
    label = base.mark_text(color=COLORS["total"], align="left", dx=4, dy=-7).encode(
        x=alt.value(0), text="label:N")
    return alt.layer(rule, label)


def design_frontier_chart(frontier: pd.DataFrame, *, slo_ms: float,
                          budget_usd: float) -> alt.LayerChart:
    """Monthly cost against end-to-end p95 at the peak, one point per configuration.

    ``frontier`` has columns ``configuration``, ``kind`` (cpu, gpu, accelerator), ``cache``,
    ``batch``, ``total_usd``, ``p95_ms``, ``chosen`` and ``on_frontier``; the Pareto frontier
    is a line, the chosen design a ring, the SLO a vertical red line, the budget a dashed one.
    """
    kinds = ("cpu", "gpu", "accelerator")
    data = frontier.assign(cache=frontier["cache"].map({True: "cache", False: "no cache"}))
    x = alt.X("p95_ms:Q", title="end-to-end p95 at the peak (ms)", scale=alt.Scale(type="log"))
    y = alt.Y("total_usd:Q", title="compute + egress ($ a month)")
    points = alt.Chart(data).mark_point(filled=True, size=60, opacity=0.75).encode(
        x=x, y=y, shape=alt.Shape("cache:N", title=None),
        color=alt.Color("kind:N", title=None,
                        scale=alt.Scale(domain=list(kinds), range=[COLORS[k] for k in kinds])),
        tooltip=["configuration:N", "policy:N", "instances:Q",
                 alt.Tooltip("total_usd:Q", format=",.0f"),
                 alt.Tooltip("p95_ms:Q", format=".3g")])
    line = alt.Chart(data[data["on_frontier"]]).mark_line(
        color=COLORS["saving"], interpolate="step-after").encode(x=x, y=y)
    chosen = alt.Chart(data[data["chosen"]]).mark_point(
        size=260, color=COLORS["total"], strokeWidth=2).encode(x=x, y=y)
    slo = alt.Chart(pd.DataFrame({"p95_ms": [slo_ms]})).mark_rule(
        color=COLORS["slo"], strokeDash=[6, 4]).encode(x="p95_ms:Q")
    return alt.layer(points, line, chosen, slo, _budget_rule(budget_usd)).properties(
        width=480, description=(
            f"Scatter chart of {len(data)} configurations: monthly compute and egress cost "
            "in USD against end-to-end p95 at the peak in ms (log scale), coloured by kind "
            f"({_listed(data['kind'])}), shaped by cache; a green line joins the cheapest "
            "for each p95, a ring marks the chosen design, a red line the SLO at "
            f"{slo_ms:g} ms and a dashed line the budget of ${budget_usd:,.0f}."))


def design_day_chart(day: pd.DataFrame) -> alt.VConcatChart:
    """The servers' demand over the day, and the instances each policy orders.

    ``day`` has columns ``policy``, ``hour``, ``demand_rps`` and ``ordered`` (one row per
    minute and policy).
    """
    x = alt.X("hour:Q", title="hour of the day", scale=alt.Scale(domain=[0, 24]))
    first = day["policy"].iloc[0]
    demand = alt.Chart(day[day["policy"] == first]).mark_area(
        opacity=0.4, color=COLORS["total"]).encode(
        x=x, y=alt.Y("demand_rps:Q", title="servers' requests/s")).properties(height=110)
    ordered = alt.Chart(day).mark_line(interpolate="step-after", strokeWidth=2).encode(
        x=x, y=alt.Y("ordered:Q", title="instances ordered"),
        color=alt.Color("policy:N", title=None, sort=None),
        # Colour and dash share one legend (a legend=None on either would drop both).
        strokeDash=alt.StrokeDash("policy:N", sort=None, title=None)).properties(height=160)
    return alt.vconcat(demand, ordered).properties(description=(
        "Two panels over the 24 hours of a day: the servers' demand in requests/s, and the "
        f"instances each policy ({_listed(day['policy'])}) orders, as step lines."))


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def sweep_chart(table: pd.DataFrame, x: str, y: str, *, series: str | None = None,
                title: str = "", series_title: str = "") -> alt.Chart:
    """Result ``y`` against swept parameter ``x``, one line per value of ``series`` (a column
    naming the other swept values, or None): a sweep's headline chart.

    A numeric ``x`` spanning a hundredfold or more, all positive, is drawn on a log scale; a
    text ``x`` or ``y`` as categories.
    """
    x_values = table[x]
    numeric_x = _is_numeric(x_values)
    log = numeric_x and x_values.min() > 0 and x_values.max() >= 100 * x_values.min()
    x_axis = alt.X(f"{x}:{'Q' if numeric_x else 'N'}", title=x,
                   scale=alt.Scale(type="log") if log else alt.Undefined)
    numeric_y = _is_numeric(table[y])
    mark = alt.Chart(table).mark_line(point=True) if numeric_y else alt.Chart(table).mark_point()
    encodings = {"x": x_axis, "y": alt.Y(f"{y}:{'Q' if numeric_y else 'N'}", title=y),
                 "tooltip": [x, *([series] if series is not None else []), y]}
    if series is not None:
        encodings["color"] = alt.Color(f"{series}:N", title=series_title or series,
                                       sort=None)
    described = (f"{_span(x_values, ',.4g')}" if numeric_x else f"at {_listed(x_values)}")
    lines = (f", one line per {series} ({_listed(table[series])})" if series is not None
             else "")
    return mark.encode(**encodings).properties(title=title, description=(
        f"{'Line' if numeric_y else 'Point'} chart: {y} against {x} {described}{lines}."))
