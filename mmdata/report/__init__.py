"""The visual report of a dataset: one self-contained HTML page (`mmdata report DIR --out report.html`).

    from mmdata.report import write_report
    write_report("out/coco-val", "out/coco-val.html")

Modules: `html` (the page and `write_report`), `stats` (per-table numbers, scanned in batches),
`plots` (matplotlib figures as PNG), `gallery` (thumbnails, captions, transcripts, waveforms).
"""
from mmdata.report.html import ReportSummary, ReportWriteError, write_report

__all__ = ["ReportSummary", "ReportWriteError", "write_report"]
