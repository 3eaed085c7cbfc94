"""Readers of external data sources: the only modules that read raw files.

Each ``read_<source>`` returns canonical tables (see :mod:`analytics.schemas`) together
with the provenance of the files it read.
"""
