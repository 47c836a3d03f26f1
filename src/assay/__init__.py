"""Assay: policy-as-code compliance for AI systems in production."""
