"""Plotly figure builders, the shared theme and PNG export (no streamlit imports)."""
