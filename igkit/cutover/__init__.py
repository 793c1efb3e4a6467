"""GA day over time: the canary stage judge and the post-deploy validation (issue 11)."""
