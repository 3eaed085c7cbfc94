"""The selectors the analysis pages share: the year, the coalition and the technology
category (values read from the URL query or chart parameters and validated against the
served dataset, and their dropdowns)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import html

from dashboards import data
from dashboards.components import control, dropdown, query_value

__all__ = ["DEFAULT_COALITION", "select_year", "select_coalition", "year_control",
           "coalition_control", "default_category", "select_category", "param_category",
           "category_control"]

DEFAULT_COALITION = "group_a"


def select_year(query: Mapping[str, Any]) -> int:
    """The ``year`` of the query when the data has it, else the latest data year."""
    return query_value(query, "year", data.default_year(), options=data.years(), cast=int)


def select_coalition(query: Mapping[str, Any], options: list[dict] | None = None) -> str:
    """The ``coalition`` of the query when it is one of ``options`` (default: the presets),
    else :data:`DEFAULT_COALITION`."""
    return query_value(query, "coalition", DEFAULT_COALITION,
                       options=options if options is not None else data.coalition_options())


def year_control(id_: str, value: int, *, width: int = 110) -> html.Div:
    """The labelled year dropdown (the data years)."""
    return control("Year", dropdown(id_, data.years(), value), width=width)


def coalition_control(id_: str, value: str, *, options: list[dict] | None = None,
                      width: int = 320) -> html.Div:
    """The labelled coalition dropdown (default options: the presets)."""
    opts = options if options is not None else data.coalition_options()
    return control("Coalition", dropdown(id_, opts, value), width=width)


# ------------------------------------------------------------------ technology category
def default_category() -> str | None:
    """The first category of the category flows (None when there is none)."""
    ids = data.category_ids()
    return ids[0] if ids else None


def select_category(query: Mapping[str, Any]) -> str | None:
    """The ``category`` of the query when the category flows have it, else the first."""
    return query_value(query, "category", default_category(),
                       options=data.page_options()["categories"])


def param_category(params: Mapping[str, Any]) -> str:
    """The ``category`` of chart parameters (default: the first), checked.

    Raises ValueError for a category the category flows do not have.
    """
    cat = params.get("category") or default_category()
    if cat not in data.category_ids():
        raise ValueError(f"unknown category {cat!r}")
    return cat


def category_control(id_: str, value: str | None, *, width: int = 380) -> html.Div:
    """The labelled category dropdown (the categories of the category flows)."""
    return control("Category", dropdown(id_, data.page_options()["categories"], value),
                   width=width)
