"""``igkit cutover execute`` / ``rollback``: the cutover conductor (issue 12).

It drives the user's rollout mechanism through actuator commands, judges every stage with
``cutover judge``, rolls back at once, records every step in ``timeline.jsonl``
(:mod:`igkit.conductor.timeline`), writes status updates from the staged comms templates
(:mod:`igkit.conductor.status`) and seals the run directory into one evidence bundle
(:mod:`igkit.conductor.seal`).
"""
