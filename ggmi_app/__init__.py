"""Streamlit glue: URL-backed settings, sidebar widgets, pages, pooled jobs, figure display.

Submodules: ``page_list`` (the pages as data) and ``registry`` (the page loader, how a run
begins), ``state`` (URL, widgets, settings files), ``params`` and ``scenario_params``
(widget schemas), ``priced``, ``jobs`` and ``compute`` (priced jobs in the worker pool),
``cached`` (cached calls, budget-capped sliders), ``figures`` (chart and downloads),
``layout``, ``messages``, ``rooms``, ``serve`` and the ``*_page`` modules. See
docs/ARCHITECTURE.md.
"""
