"""Figure builders (chokepoints)."""

__all__: list[str] = []
