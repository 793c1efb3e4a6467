"""Fixtures for the report tests: keys, a small executed notebook, a run directory, its reports.

Tests marked ``chromium`` / ``poppler`` run the real binaries; when those are missing they fail
(never skip) with a message saying how to get them.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import papermill
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from igkit.bundle.keys import self_signed_cert
from igkit.verdicts import GateVerdict, RunVerdicts, Scope, Status

REQUIRED_BINARIES = {
    "chromium": (("chromium",), "chromium"),
    "poppler": (("pdftoppm", "pdftotext"), "poppler-utils"),
}

GATE_NAMES = [
    ("G1", "SLO Baseline"),
    ("G2", "Ingest Health"),
    ("G3", "Supply Chain"),
    ("G4", "Policy/Access"),
    ("G5", "Perf & Load"),
    ("G6", "Cost Guardrails"),
    ("G7", "DR Readiness"),
    ("G8", "Support & Comms"),
]

# What a gate notebook shows an auditor: a plot, the decision, a gate table. The last cell is
# hostile on purpose: external resources that the HTML renderer must strip.
PLOT_CELL = """\
%matplotlib inline
import matplotlib.pyplot as plt
from IPython.display import display
fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
ax.plot([0, 1, 2, 3, 4], [1, 3, 2, 4, 3], color="#ff0000", linewidth=6)
ax.set_title("p99 latency (ms)")
display(fig)
plt.close(fig)
"""
DECISION_CELL = """\
from IPython.display import HTML, display
rows = "".join(
    f"<tr><td>{g}</td><td>PASS</td></tr>" for g in ["G1", "G2", "G3", "G4", "G5", "G6", "G7", "G8"]
)
display(HTML(
    '<h2 id="nb-decision">DECISION: GO</h2>'
    '<table id="nb-gates"><thead><tr><th>Gate</th><th>Status</th></tr></thead>'
    f"<tbody>{rows}</tbody></table>"
))
"""
HOSTILE_CELL = """\
from IPython.display import HTML, display
display(HTML(
    '<img src="https://example.invalid/tracker.png" srcset="http://example.invalid/a.png 2x">'
    '<script src="https://cdn.example.invalid/evil.js"></script>'
    '<link rel="stylesheet" href="https://cdn.example.invalid/style.css">'
    '<style>@import url("https://cdn.example.invalid/x.css"); '
    '.x { background: url(https://example.invalid/bg.png) } '
    '@font-face { font-family: f; src: url(//fonts.example.invalid/f.woff2) }</style>'
    '<div style="background-image: url(\\'http://example.invalid/y.png\\')">hostile-cell-rendered</div>'
    '<iframe src="https://example.invalid/frame"></iframe>'
))
"""
SECRET_SOURCE_MARKER = "igkit_source_marker_must_not_render = 41"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "chromium: needs headless Chromium (Debian package chromium)"
    )
    config.addinivalue_line("markers", "poppler: needs pdftoppm/pdftotext (Debian poppler-utils)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, (binaries, package) in REQUIRED_BINARIES.items():
        if item.get_closest_marker(marker) is None:
            continue
        missing = [b for b in binaries if shutil.which(b) is None]
        if missing:
            pytest.fail(
                f"{', '.join(missing)} not found (Debian package {package}): "
                f"run make test, which installs {package}",
                pytrace=False,
            )


@dataclass(frozen=True)
class KeyPair:
    key_pem: bytes
    cert_pem: bytes


def make_keypair(common_name: str) -> KeyPair:
    """ECDSA P-256 key and a self-signed cert with KeyUsage digitalSignature + nonRepudiation."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = self_signed_cert(key, name)  # the certificate `igkit keys generate` makes
    return KeyPair(
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
    )


@pytest.fixture(scope="session")
def demo_key() -> KeyPair:
    return make_keypair("igkit untrusted demo key")


@pytest.fixture(scope="session")
def other_key() -> KeyPair:
    return make_keypair("someone else")


def run_verdicts(statuses: dict[str, Status] | None = None) -> RunVerdicts:
    statuses = statuses or {}
    gates = []
    for gid, name in GATE_NAMES:
        status = statuses.get(gid, Status.PASS)
        reason = "all 2 objective(s) PASS" if status is Status.PASS else f"{gid} breached <b>x</b>"
        gates.append(GateVerdict(id=gid, name=name, status=status, reasons=[reason], objectives=[]))
    return RunVerdicts(
        decision="GO" if all(g.status is Status.PASS for g in gates) else "NO-GO",
        scope=Scope(gates=[g.id for g in gates], complete=True),
        evaluated_at=dt.datetime(2026, 11, 27, 12, 30, tzinfo=dt.UTC),
        matrix_sha256="ab" * 32,
        matrix_source="<igkit>/default.yaml",
        igkit_version="0.1.0",
        source="test fixture",
        gates=gates,
    )


def write_verdicts(run_dir: Path, run: RunVerdicts) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "verdicts.json").write_text(
        run.model_dump_json(by_alias=True, indent=2), encoding="utf-8"
    )


@pytest.fixture(scope="session")
def executed_notebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gate notebook executed by papermill in a real kernel (plot, decision, table)."""
    where = tmp_path_factory.mktemp("notebook")
    source = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# G1 SLO baseline\n\nAuditor view of the gate."),
            nbformat.v4.new_code_cell(SECRET_SOURCE_MARKER),
            nbformat.v4.new_code_cell(PLOT_CELL),
            nbformat.v4.new_code_cell(DECISION_CELL),
            nbformat.v4.new_code_cell(HOSTILE_CELL),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    src_path = where / "source.ipynb"
    nbformat.write(source, src_path)
    out_path = where / "G1_slo_baseline.ipynb"
    papermill.execute_notebook(
        str(src_path), str(out_path), kernel_name="python3", progress_bar=False, log_output=False
    )
    return out_path


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory, executed_notebook: Path) -> Path:
    """A run directory: verdicts.json (GO, all PASS) and notebooks/G1_slo_baseline.ipynb."""
    root = tmp_path_factory.mktemp("run")
    write_verdicts(root, run_verdicts())
    (root / "notebooks").mkdir()
    shutil.copy(executed_notebook, root / "notebooks" / executed_notebook.name)
    return root


@pytest.fixture(scope="session")
def rendered(run_dir: Path, demo_key: KeyPair) -> list[Path]:
    """render_reports over the run directory, once per session (needs Chromium)."""
    from igkit.report.render import render_reports

    if shutil.which("chromium") is None:
        pytest.fail("chromium not found: run make test, which installs chromium", pytrace=False)
    return render_reports(
        run_dir, key_pem=demo_key.key_pem, cert_pem=demo_key.cert_pem, untrusted=True
    )
