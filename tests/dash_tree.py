"""Reading Dash component trees in tests: the text a layout shows, a component by id."""

from __future__ import annotations


def text(component) -> str:
    """All text in a Dash component tree (children only, space-joined)."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text(c) for c in component)
    return text(getattr(component, "children", None))


def find(component, id_):
    """The component with id ``id_`` in a Dash component tree (None when absent)."""
    if getattr(component, "id", None) == id_:
        return component
    kids = getattr(component, "children", None)
    for kid in kids if isinstance(kids, list | tuple) else [kids]:
        if kid is not None and not isinstance(kid, str | int | float):
            hit = find(kid, id_)
            if hit is not None:
                return hit
    return None
