"""Judge: spec + SnapshotSet -> verdicts. Pure, offline: nothing here fetches, and nothing
imports :mod:`igkit.sources` or a network library (tests/test_layout.py checks it)."""
