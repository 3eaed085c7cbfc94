"""The analyst dashboard (Dash Pages) on top of the :mod:`analytics` library."""
