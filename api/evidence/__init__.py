"""HTTP resources for evidence (照片佐证): working copies, originals, verdict summaries and overrides."""
