"""Evidence: the readers of each file format, validation against the evidence-kind models,
and the index the checks query."""
