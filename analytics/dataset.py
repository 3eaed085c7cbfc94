"""The in-memory dataset: canonical tables plus their provenance.

A :class:`Dataset` is what every analysis takes and what the store reads and writes. It
is immutable (a frozen dataclass); ``replace`` returns a modified copy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analytics.errors import DataError
from analytics.schemas import (
    Brands,
    Categories,
    CategoryHS,
    Countries,
    Entities,
    Events,
    Flows,
    HSConcordance,
    Shipments,
    Suppliers,
    Table,
    validate,
)

__all__ = ["Dataset", "SYNTHETIC_LABEL", "TABLE_FIELDS", "REQUIRED_TABLES"]

SYNTHETIC_LABEL = "synthetic demo data"

#: dataset attribute -> table schema; the optional ones may be None
TABLE_FIELDS: dict[str, type[Table]] = {
    "flows": Flows,
    "countries": Countries,
    "categories": Categories,
    "category_hs": CategoryHS,
    "hs_concordance": HSConcordance,
    "events": Events,
    "suppliers": Suppliers,
    "entities": Entities,
    "shipments": Shipments,
    "brands": Brands,
}
REQUIRED_TABLES = ("flows", "countries", "categories", "category_hs", "events")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Canonical tables of one dataset.

    Attributes
    ----------
    flows, countries, categories, category_hs, events : DataFrame
        Required tables (see :mod:`analytics.schemas`).
    hs_concordance, suppliers, entities, shipments, brands : DataFrame or None
        Optional tables.
    hs_version : str
        HS nomenclature of ``flows.hs6`` (e.g. ``"HS2017"``); category definitions in
        other versions are mapped through ``hs_concordance``.
    name : str
        Short human name ("Demo world (seed 0)", "BACI HS17 V202601").
    synthetic : bool
        True for generated data: every view and export carries :data:`SYNTHETIC_LABEL`.
    provenance : mapping
        table name -> {"source": ..., "version": ..., "licence": ..., ...}.
    """

    flows: pd.DataFrame
    countries: pd.DataFrame
    categories: pd.DataFrame
    category_hs: pd.DataFrame
    events: pd.DataFrame
    hs_concordance: pd.DataFrame | None = None
    suppliers: pd.DataFrame | None = None
    entities: pd.DataFrame | None = None
    shipments: pd.DataFrame | None = None
    brands: pd.DataFrame | None = None
    hs_version: str = "HS2017"
    name: str = "dataset"
    synthetic: bool = False
    provenance: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def replace(self, **changes) -> Dataset:
        """A copy with some fields replaced."""
        return dataclasses.replace(self, **changes)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Present tables by name."""
        return {k: getattr(self, k) for k in TABLE_FIELDS if getattr(self, k) is not None}

    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in self.flows["year"].unique())

    @property
    def label(self) -> str:
        """The name, with the synthetic-data label when it applies."""
        return f"{self.name} ({SYNTHETIC_LABEL})" if self.synthetic else self.name

    def validated(self) -> Dataset:
        """Validate every present table; return a dataset of coerced tables."""
        changes = {}
        for key, table in TABLE_FIELDS.items():
            frame = getattr(self, key)
            if frame is None:
                if key in REQUIRED_TABLES:
                    raise DataError(f"dataset {self.name!r} has no {key} table",
                                    remedy="every dataset needs flows, countries, "
                                           "categories, category_hs and events")
                continue
            src = self.provenance.get(key, {}).get("source", key)
            changes[key] = validate(frame, table, source=f"{key} ({src})")
        return self.replace(**changes)

    def summary(self) -> pd.DataFrame:
        """Rows and provenance of each present table."""
        recs = []
        for key, frame in self.tables().items():
            prov = dict(self.provenance.get(key, {}))
            recs.append({"table": key, "rows": len(frame), **prov})
        return pd.DataFrame(recs)
