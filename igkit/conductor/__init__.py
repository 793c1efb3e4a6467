"""``igkit cutover execute`` / ``rollback``: the cutover conductor (issue 12).

It drives the user's rollout mechanism through actuator commands, judges every stage with
``cutover judge``, writes status updates from the staged comms templates
(:mod:`igkit.conductor.status`) and seals the run directory into one evidence bundle
(:mod:`igkit.conductor.seal`).
"""
