"""Evidence bundles: copy a run, hash every file, sign the hash list, verify it all offline."""
