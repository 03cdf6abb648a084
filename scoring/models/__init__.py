"""Scoring model files shipped with riskmon (data only)."""

__all__: list[str] = []
