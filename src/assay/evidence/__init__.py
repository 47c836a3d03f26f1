"""Evidence: the readers of each file format, validation against the evidence-kind models,
the index the checks query, the importers of other tools' exports, and the ledger that seals
the evidence folder."""
