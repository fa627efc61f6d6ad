"""The book's Sphinx extension (``_config.yml``: ``sphinx.extra_extensions``): a static site that works offline.

* The repository address is :data:`ggan_lib.book.REPO_URL`: the theme's repository settings are taken from
  it, and the header's Launch → Colab button opens the chapter's ``book/colab/NN.ipynb`` (the theme would
  point it at ``book/NN.md``, which Colab cannot open).
* No widget state in the static pages: the live explorers are for Jupyter and Colab; the static page
  carries their snapshots (``nb_mime_priority_overrides`` in ``_config.yml`` shows each widget's text/html
  note instead of its view). The widget manager from a CDN is not loaded either.
* Each inline script once: jupyter-book registers sphinx-thebe's and sphinx-togglebutton's twice, and the
  second ``const THEBE_JS_URL`` is a console error on every page.
* The theme's colour mode is set, so its script does not log "invalid theme mode".
* ``ggan-book.css``: figures and players never wider than the text column.

MathJax itself is bundled by the ``sphinx-mathjax-offline`` extension (listed beside this one).
"""
from __future__ import annotations

from pathlib import Path

from ggan_lib.book import REPO_BRANCH, REPO_URL, colab_url

STATIC = Path(__file__).with_name("static")


def _theme_options(app, config) -> None:
    """Repository settings from REPO_URL; a colour mode; our static folder."""
    opts = config.html_theme_options
    opts["repository_url"] = REPO_URL
    opts["repository_branch"] = REPO_BRANCH
    opts["path_to_docs"] = ""
    config.html_context.setdefault("default_mode", "light")   # pydata-sphinx-theme reads it from the context
    config.html_static_path.append(str(STATIC))


def _drop_widget_state(app, pagename, templatename, context, doctree) -> None:
    """Before myst-nb adds a page's JS: forget the embedded widget state and the widget manager."""
    from myst_nb.sphinx_ import NbMetadataCollector

    data = NbMetadataCollector.get_doc_data(app.env).get(pagename, {})
    for key in [k for k in data.get("js_files", {}) if k.startswith("ipywidgets")]:
        del data["js_files"][key]


def _fix_page(app, pagename, templatename, context, doctree) -> None:
    """After the theme: Colab launch button to the chapter's notebook; each script once."""
    stem = pagename.rsplit("/", 1)[-1]
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if isinstance(group, dict) else []:
            if button.get("text") == "Colab":
                button["url"] = colab_url(stem)
    seen, scripts = set(), []
    for js in context.get("script_files", []):
        key = (getattr(js, "filename", js) or "", getattr(js, "priority", 0),  # '' and None: both inline
               tuple(sorted(getattr(js, "attributes", {}).items())))        # the inline body is an attribute
        if key not in seen:
            seen.add(key)
            scripts.append(js)
    context["script_files"] = scripts


def setup(app):
    app.connect("config-inited", _theme_options)
    app.connect("html-page-context", _drop_widget_state, priority=400)  # myst-nb adds page JS at 500
    app.connect("html-page-context", _fix_page, priority=900)           # the theme's buttons come at 501
    app.add_css_file("ggan-book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
