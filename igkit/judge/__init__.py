"""Judge: spec + snapshots -> verdicts. Pure, offline: nothing here fetches, and nothing
imports :mod:`igkit.sources`."""
