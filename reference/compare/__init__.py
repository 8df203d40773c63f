"""Comparisons with other frameworks, through scratchcnn's public API only (never its internals)."""
