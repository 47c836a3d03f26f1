"""Strict, bounded and located parsing of the files users write: safe YAML with positions,
and pydantic validation whose errors point at the offending line and column."""
