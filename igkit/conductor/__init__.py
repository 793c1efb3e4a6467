"""The cutover conductor (``igkit cutover execute`` / ``igkit cutover rollback``): drives the
user's rollout mechanism through actuator commands, judges every stage, rolls back at once,
and records every step in one run directory (``timeline.jsonl``, judge dirs, status updates).

Status updates render the staged comms templates with live figures
(:mod:`igkit.conductor.status`); the finished run directory is sealed into one evidence
bundle (:mod:`igkit.conductor.seal`).
"""
