"""Figure builders (diversion)."""

__all__: list[str] = []
