"""Evidence: importers that turn other tools' exports into records, and the ledger that seals
the evidence folder."""
