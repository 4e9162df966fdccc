"""Charts: one Altair theme for the whole book, and a display that works offline.

``show(chart)`` returns a :class:`Figure`. In JupyterLab it renders through the Vega-Lite MIME
type; in the built book it is a ``<div>`` holding the spec as JSON, which the page draws with the
Vega libraries that :mod:`perfcost.sphinxext` ships with the site (once per page, never from a
CDN). Nothing here changes Altair's global renderer or theme.

Colours mean one thing across the book (``COLORS``): the SLO line is always the same red.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import altair as alt
import pandas as pd

__all__ = [
    "COLORS",
    "THEME",
    "Figure",
    "cost_vs_rate_chart",
    "quantile_vs_utilization_chart",
    "show",
    "slo_rule",
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
}

THEME = {
    "font": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "view": {"continuousWidth": 520, "continuousHeight": 300, "stroke": None},
    "axis": {"labelFontSize": 12, "titleFontSize": 12, "titleFontWeight": "normal",
             "gridColor": "#e6e6e6"},
    "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "right"},
    "range": {"category": ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf"]},
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

    def to_html(self) -> str:
        """The ``<div>`` the book's page script draws into; no inline JavaScript."""
        spec_json = json.dumps(self.spec, sort_keys=True).replace("</", "<\\/")
        return (
            f'<div class="perfcost-chart" id="{self.element_id}">'
            f'<script type="application/json" class="perfcost-chart-spec">{spec_json}</script>'
            "</div>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {
            VEGALITE_MIME: self.spec,
            "text/html": self.to_html(),
            "text/plain": f"<perfcost chart {self.element_id}>",
        }


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
    instances"), as made by :func:`perfcost.capacity.quantile_curves`.
    """
    lines = alt.Chart(curves).mark_line(strokeWidth=2).encode(
        x=alt.X("utilization:Q", title="utilisation", axis=alt.Axis(format="%")),
        y=alt.Y("p95_ms:Q", title="p95 response time (ms)", scale=alt.Scale(type="log")),
        color=alt.Color("fleet:N", title="fleet", sort=None),
        tooltip=["fleet:N", alt.Tooltip("utilization:Q", format=".0%"),
                 alt.Tooltip("p95_ms:Q", format=".1f")],
    )
    return alt.layer(lines, slo_rule(slo_ms))


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
    )
