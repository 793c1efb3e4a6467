"""Synthetic user journeys (seed §12): the shipped k6 script, its runner and its judge.

``run_journeys`` (:mod:`igkit.journeys.run`) runs ``igkit/data/journeys/journeys.js`` with
the pinned k6 against a service and writes ``journeys.json``; ``judge_journeys``
(:mod:`igkit.journeys.judge`) is the pure verdict of the matrix's ``journeys`` objective
from the sealed per-step figures; ``replay_journeys`` re-derives it from a run directory."""
