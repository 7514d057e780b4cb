"""Streamlit glue: URL-backed settings, sidebar widgets, pages, pooled jobs, figure display.

Submodules: ``page_list`` and ``page_settings`` (the pages and their settings, as data),
``frame`` (what ``app.py`` runs around every page), ``state`` (settings store, URL,
widgets, settings files), ``params`` and ``scenario_params`` (widget schemas), ``priced``,
``jobs`` and ``compute`` (priced jobs in the worker pool), ``cached`` (cached calls,
budget-capped sliders), ``figures`` (chart and downloads), ``layout``, ``messages``,
``rooms``, ``serve`` and the ``*_page`` components that the page scripts in ``pages/``
call. See docs/ARCHITECTURE.md.
"""
