"""Diagnostics: the paper's Appendix G checks on simulated or uploaded data.

Entry file only: the page lives in the module that ggmi_app.registry names for "diagnostics".
"""

from ggmi_app.registry import run_page

run_page("diagnostics")
