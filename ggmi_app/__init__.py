"""Streamlit glue: URL-backed settings, sidebar widgets, page layout, figure display.

Submodules: ``params`` (schema), ``state`` (URL/widgets/settings files), ``layout``
(page chrome, error boundaries), ``figures`` (chart + downloads), ``cache`` (bounds).
"""
