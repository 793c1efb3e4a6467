"""Renderings of verdicts: JSON, JUnit XML, the console table."""
