"""Bound terms: the paper's bounds measured term by term.

Entry file only: the page lives in the module that ggmi_app.registry names for "bounds".
"""

from ggmi_app.registry import run_page

run_page("bounds")
