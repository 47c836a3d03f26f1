"""Pydantic models: what people write (strict) and what the engine produces (frozen)."""
