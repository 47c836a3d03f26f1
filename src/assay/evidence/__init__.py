"""Evidence: the readers of each file format, validation against the evidence-kind models,
the index the checks query, the importers of other tools' exports, and the ledger that seals
the evidence folder."""

LEDGER_NAME = ".assay-ledger.jsonl"
"""The hash-chained ledger at the top of an evidence folder (see :mod:`.ledger`); named here
so that the loader finds it without importing the ledger's models."""
