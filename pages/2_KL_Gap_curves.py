"""KL Gap curves: the paper's Figure 4 (Section 4.4), as published and live.

Entry file only: the page lives in the module that ggmi_app.registry names for "gap-curves".
"""

from ggmi_app.registry import run_page

run_page("gap-curves")
