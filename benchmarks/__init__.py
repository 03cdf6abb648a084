"""Benchmarks that print figures: ``riskmon bench`` (bench), the Faust ceiling agent it measures
against (ceiling), redis-benchmark's run of apply.lua (redis_baseline), and apply.lua's variants
timed against each other (lua_variants). None is a test: they measure and print."""

__all__ = ["bench", "ceiling", "lua_variants", "redis_baseline"]
