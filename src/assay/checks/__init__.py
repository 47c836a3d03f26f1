"""Check kinds, one module each, and the CEL expression layer (`expr`)."""
