"""Streamlit glue: URL-backed settings, sidebar widgets, pages, pooled jobs, figure display.

Submodules: ``page_list`` and ``page_settings`` (the pages and their settings, as data),
``frame`` (what ``app.py`` runs around every page), ``state`` (settings store, URL,
widgets, settings files), ``params`` and ``scenario_params`` (widget schemas), ``priced``
and ``jobs`` (priced jobs behind a progress bar), ``compute`` (the worker-pool
scheduler), ``job_keys`` (jobs and their cache keys), ``memory_cache`` (the in-process
LRU/TTL cache), ``result_store`` (the cache shared by replicas), ``cached`` (cached core
calls and their prices), ``stored_assets`` (tables read from ``assets/``),
``budget_sliders`` (budget-capped sliders), ``figures`` (chart, downloads, process-wide
figure caches), ``flipbook``, ``layout``, ``messages``, ``content`` and ``prose`` (the
prose of ``assets/content/``), ``room_store`` (lecture rooms without Streamlit) and
``rooms`` (their session controls), ``client``, ``env_settings`` (numbers from the
environment), ``upload_limits``, ``serve`` and the
``*_page`` components that the page scripts in ``pages/`` call. See docs/ARCHITECTURE.md.
"""
