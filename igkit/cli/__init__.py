"""The ``igkit`` command line: one module per verb over the library."""
