"""Figure builders (profiles)."""

__all__: list[str] = []
