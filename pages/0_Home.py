"""Home: the paper's claim in plain words, the generation chain drawn, the letters.

Entry file only: the page lives in the module that ggmi_app.registry names for "home".
"""

from ggmi_app.registry import run_page

run_page("home")
