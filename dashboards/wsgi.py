"""WSGI entry point for gunicorn: ``gunicorn dashboards.wsgi:server``.

The store comes from the ``CHOKEPOINT_STORE`` environment variable (``chokepoint serve``
sets it).
"""

from analytics.config import Settings
from analytics.errors import ChokepointError
from dashboards.app import create_app

_store = Settings.from_env().store
if not _store:
    raise ChokepointError("set CHOKEPOINT_STORE to the store folder the dashboard serves")
app = create_app(_store)
server = app.server
