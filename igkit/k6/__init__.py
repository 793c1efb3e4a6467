"""k6 analytics on point sets: k6-exact statistics and the per-window table G5 judges."""
