"""Evidence gates: documents verified offline (attestations, SBOMs, policy bundles, drill
reports, approvals). Each verifier is a pure function of file bytes, policy and time that
returns :class:`~igkit.judge.evidence.checks.Check` results."""
