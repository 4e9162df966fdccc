"""A Sphinx extension for the published book: whose repository it links to, and a MyST download.

* The repository is named once, in ``_config.yml`` (``repository.url`` and ``branch``). A fork's
  CI points the launch, repository and download buttons at itself by setting
  ``PERFCOST_REPOSITORY_URL`` and ``PERFCOST_REPOSITORY_BRANCH`` (the GitHub Pages workflow does,
  from the repository it runs in); ``PERFCOST_JUPYTERHUB_URL`` adds a JupyterHub launch button.
* Every chapter page offers its notebook as MyST Markdown (``.md``, written with jupytext) beside
  the ``.ipynb`` that sphinx-book-theme already offers.

Enable it in ``_config.yml`` under ``sphinx.extra_extensions``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPOSITORY_URL_ENV = "PERFCOST_REPOSITORY_URL"
REPOSITORY_BRANCH_ENV = "PERFCOST_REPOSITORY_BRANCH"
JUPYTERHUB_URL_ENV = "PERFCOST_JUPYTERHUB_URL"


def repository_overrides(environ: dict[str, str]) -> dict[str, str]:
    """The theme options the environment overrides: ``repository_url``, ``repository_branch``.

    Unset or blank variables override nothing, so ``_config.yml`` stays the one default.
    """
    pairs = (("repository_url", REPOSITORY_URL_ENV), ("repository_branch", REPOSITORY_BRANCH_ENV))
    return {option: environ[name].strip().rstrip("/") for option, name in pairs
            if environ.get(name, "").strip()}


def _apply_environment(app, config) -> None:
    options = config.html_theme_options
    options.update(repository_overrides(dict(os.environ)))
    hub_url = os.environ.get(JUPYTERHUB_URL_ENV, "").strip()
    if hub_url:
        options.setdefault("launch_buttons", {})["jupyterhub_url"] = hub_url


def myst_markdown(notebook_path: Path) -> str:
    """The notebook at ``notebook_path`` as a MyST Markdown text notebook (jupytext ``md:myst``)."""
    import jupytext

    return jupytext.writes(jupytext.read(notebook_path), fmt="md:myst")


def _markdown_download(app, pagename, templatename, context, doctree) -> None:
    """Write ``_sources/PAGE.md`` for a notebook page and add it to the download buttons."""
    source = Path(app.env.doc2path(pagename)) if pagename in app.env.all_docs else None
    if source is None or source.suffix != ".ipynb":
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(myst_markdown(source), encoding="utf-8")
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].insert(1, {
                "type": "link",
                "url": f"{context['pathto']('_sources', 1)}/{pagename}.md",
                "text": ".md",
                "tooltip": "Download the notebook as MyST Markdown",
                "icon": "fas fa-file-lines",
                "label": "download-myst-button",
            })


def setup(app):
    app.connect("config-inited", _apply_environment)
    # After sphinx-book-theme has made its header buttons (priority 501).
    app.connect("html-page-context", _markdown_download, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
