"""Pure plotly figure builders (``fig_*``) shared by the dashboard, notebooks and briefings.

Every builder takes the labelled frames the analytics return and gives back a
``plotly.graph_objects.Figure``; none reads files or global state. Labels can be English
or Japanese (``lang="ja"``). The briefing template (:mod:`analytics.briefing`) dresses
the same figures for export.
"""

from analytics.figures.casestudies import *  # noqa: F401,F403
from analytics.figures.casestudies import __all__ as _case
from analytics.figures.chokepoints import *  # noqa: F401,F403
from analytics.figures.chokepoints import __all__ as _chk
from analytics.figures.core import *  # noqa: F401,F403
from analytics.figures.core import __all__ as _core
from analytics.figures.diversion import *  # noqa: F401,F403
from analytics.figures.diversion import __all__ as _div
from analytics.figures.profiles import *  # noqa: F401,F403
from analytics.figures.profiles import __all__ as _prof
from analytics.figures.shipments import *  # noqa: F401,F403
from analytics.figures.shipments import __all__ as _ship

__all__ = [*_core, *_chk, *_div, *_prof, *_ship, *_case]
