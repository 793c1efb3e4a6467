"""Renderings of verdicts (JUnit, console table, HTML, PDF, plots, executed notebooks).
Nothing here changes a verdict."""
