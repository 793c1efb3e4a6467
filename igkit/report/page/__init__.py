"""Parts of the per-gate report page (:func:`igkit.report.gate_page.gate_page_html`)."""
