"""Guided tour: the paper's argument in eleven steps, one figure each, and as slides.

Entry file only: the page lives in the module that ggmi_app.registry names for "tour".
"""

from ggmi_app.registry import run_page

run_page("tour")
