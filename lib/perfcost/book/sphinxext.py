"""A Sphinx extension that makes the built book work with no network access.

* Pages with charts get the Vega, Vega-Lite and vega-embed libraries (bundled by vl-convert, at
  the Vega-Lite version Altair writes) and ``charts.js``, which draws every chart on the page:
  two script tags per page, however many charts it has.
* MathJax is served from the site (the ``django-static-mathjax`` wheel carries MathJax 3)
  instead of Sphinx's default CDN.

It also keeps the pages lean and readable: sphinx-thebe's unused assets are left out, printed
output wraps at the column, nbval's marker line is not shown, and each page's pickled doctree
no longer drags the whole environment along (see :func:`_adopt_nodes`).

Enable it in ``_config.yml`` under ``sphinx.extra_extensions``.
"""

from __future__ import annotations

import importlib.resources
import shutil
from pathlib import Path

import altair as alt
import vl_convert

VEGA_BUNDLE = "perfcost/vega-bundle.js"
CHARTS_SCRIPT = "perfcost/charts.js"
BOOK_STYLE = "perfcost/book.css"
# Printed text (a verdict is one long line) wraps at the column instead of scrolling sideways.
BOOK_CSS = "div.cell_output div.output pre { white-space: pre-wrap; overflow-wrap: anywhere; }\n"
# nbval's marker for the cells whose output it compares: for the test suite, not the reader.
NBVAL_MARKER = "# NBVAL_CHECK_OUTPUT"
MATHJAX_SCRIPT = "mathjax/tex-svg.js"


def _vegalite_version() -> str:
    major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    return f"{major}.{minor}"


def _write_static_files(folder: Path) -> None:
    """Write the page scripts into ``folder``, regenerating the Vega bundle only when it changed."""
    scripts = folder / "perfcost"
    scripts.mkdir(parents=True, exist_ok=True)
    version = f"vega-lite {_vegalite_version()}, vl-convert {vl_convert.__version__}, scoped"
    stamp = scripts / "vega-bundle.version"
    bundle = folder / VEGA_BUNDLE
    if not bundle.exists() or not stamp.exists() or stamp.read_text() != version:
        # A function scope keeps the bundle's top-level names (``_`` among them) from clashing
        # with the globals of Sphinx's own classic scripts; it exports window.vegaEmbed itself.
        code = vl_convert.javascript_bundle(vl_version=_vegalite_version())
        bundle.write_text(f"(function () {{\n{code}\n}})();\n")
        stamp.write_text(version)
    charts_js = importlib.resources.files("perfcost.book").joinpath("charts.js").read_text()
    (folder / CHARTS_SCRIPT).write_text(charts_js)
    (folder / BOOK_STYLE).write_text(BOOK_CSS)
    mathjax = Path(str(importlib.resources.files("mathjax"))) / "static/mathjax/es5/tex-svg.js"
    (folder / "mathjax").mkdir(exist_ok=True)
    shutil.copyfile(mathjax, folder / MATHJAX_SCRIPT)


def _add_static_folder(app) -> None:
    folder = Path(app.doctreedir).parent / "perfcost_static"
    _write_static_files(folder)
    app.config.html_static_path.append(str(folder))


def _add_chart_scripts(app, pagename, templatename, context, doctree) -> None:
    if "perfcost-chart" in context.get("body", ""):
        app.add_js_file(VEGA_BUNDLE)
        app.add_js_file(CHARTS_SCRIPT)


def _is_thebe_asset(asset) -> bool:
    """sphinx-thebe's inline configuration (its CDN constant), its loader or its style."""
    body = getattr(asset, "attributes", {}).get("body", "") or ""
    name = str(getattr(asset, "filename", asset) or "")
    return "THEBE_JS_URL" in body or "sphinx-thebe." in name


def _drop_thebe_scripts(app, pagename, templatename, context, doctree) -> None:
    """The book runs no code in the browser (``launch_buttons.thebe: false``), yet Jupyter
    Book's sphinx-thebe writes its configuration (a constant naming a CDN), its loader and
    its style into every page: leave them out."""
    for assets in ("script_files", "css_files"):
        if assets in context:
            context[assets] = [a for a in context[assets] if not _is_thebe_asset(a)]


def _adopt_nodes(app, doctree) -> None:
    """Point every node of ``doctree`` at ``doctree`` itself.

    Directives that parse into a document of their own (MyST's ``eval-rst``, autodoc) leave
    nodes whose ``document`` is that other document, whose settings hold the Sphinx
    environment. Sphinx detaches the environment from the page's own document before it
    pickles the page, not from those, so each page's pickle carried the whole environment,
    sphinx-exercise's registry of every chapter's nodes included: 2.8 MB a page, and most of
    the build's time spent pickling and unpickling it.
    """
    for node in doctree.findall():
        if getattr(node, "_document", None) not in (None, doctree):
            node.document = doctree


def without_marker(code: str) -> str:
    """``code`` without the nbval marker line, if it has one."""
    lines = code.split("\n")
    return "\n".join(line for line in lines if line.strip() != NBVAL_MARKER)


def _drop_nbval_markers(app, doctree) -> None:
    """Show the code of a cell nbval checks without the marker line the checker reads."""
    from docutils import nodes

    for block in doctree.findall(nodes.literal_block):
        if NBVAL_MARKER in block.astext():
            code = without_marker(block.astext())
            block.rawsource = code
            block.clear()
            block += nodes.Text(code)


def setup(app):
    app.connect("doctree-read", _adopt_nodes)
    app.connect("doctree-read", _drop_nbval_markers)
    app.add_css_file(BOOK_STYLE)
    app.connect("builder-inited", _add_static_folder)
    app.connect("html-page-context", _add_chart_scripts)
    app.connect("html-page-context", _drop_thebe_scripts)
    app.config.mathjax_path = MATHJAX_SCRIPT
    return {"parallel_read_safe": True, "parallel_write_safe": True}


class VegaLiteMimeRenderer:
    """A myst-nb mime renderer that quietly drops the Vega-Lite MIME output of a chart.

    :class:`perfcost.book.charts.Figure` outputs both Vega-Lite (for JupyterLab) and ``text/html``
    (for the book); the book draws the HTML one, so the Vega-Lite one renders to nothing instead
    of raising myst-nb's unknown-mime-type warning. Registered as a ``myst_nb.mime_renderers``
    entry point in pyproject.toml.
    """

    mime_priority_overrides = ()

    @staticmethod
    def handle_mime(renderer, data, inline):
        """Return no nodes for Vega-Lite data; decline (None) anything else."""
        if data.mime_type.startswith("application/vnd.vegalite."):
            return []
        return None
