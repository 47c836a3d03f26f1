"""Tools for the people who write policies and review results: lint, explain, diff, the
waiver report, the catalog export and policy tests."""
