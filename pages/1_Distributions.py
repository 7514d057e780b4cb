"""Distributions: the paper's Figure 2 (Section 3.2), live.

Entry file only: the page lives in the module that ggmi_app.registry names for "distributions".
"""

from ggmi_app.registry import run_page

run_page("distributions")
