"""PAdES signing and verification, and the Chromium HTML -> PDF step's failure modes."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from igkit.errors import IgkitError
from igkit.judge.evidence.checks import Check, combine
from igkit.report.pdf import ChromiumError, html_to_pdf, sign_pdf, verify_pdf
from igkit.verdicts import Status
from tests.report.conftest import KeyPair


def by_name(checks: list[Check]) -> dict[str, Status]:
    return {c.name: c.status for c in checks}


@pytest.fixture(scope="module")
def unsigned_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain PDF made without Chromium, so signing is tested on its own."""
    path = tmp_path_factory.mktemp("pdf") / "plain.pdf"
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_title("DECISION: GO")
    fig.savefig(path, format="pdf")
    plt.close(fig)
    return path


@pytest.fixture(scope="module")
def signed_pdf(unsigned_pdf: Path, demo_key: KeyPair) -> Path:
    return sign_pdf(
        unsigned_pdf,
        unsigned_pdf.with_name("signed.pdf"),
        key_pem=demo_key.key_pem,
        cert_pem=demo_key.cert_pem,
        reason="test",
        location="ci",
    )


def test_signed_pdf_verifies(signed_pdf: Path, demo_key: KeyPair) -> None:
    checks = verify_pdf(signed_pdf, cert_pem=demo_key.cert_pem)
    assert by_name(checks) == {
        "signature present": Status.PASS,
        "signature intact": Status.PASS,
        "coverage": Status.PASS,
        "signer certificate": Status.PASS,
    }, [c.line() for c in checks]
    assert combine(checks) is Status.PASS


def test_signature_is_pades_baseline(signed_pdf: Path) -> None:
    data = signed_pdf.read_bytes()
    assert b"/ETSI.CAdES.detached" in data
    assert b"/Reason (test)" in data
    assert b"/Location (ci)" in data


@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_truncated_pdf_fails(
    signed_pdf: Path, demo_key: KeyPair, tmp_path: Path, keep: float
) -> None:
    data = signed_pdf.read_bytes()
    bad = tmp_path / "truncated.pdf"
    bad.write_bytes(data[: int(len(data) * keep)])
    checks = verify_pdf(bad, cert_pem=demo_key.cert_pem)
    assert combine(checks) is not Status.PASS, [c.line() for c in checks]


def _signed_ranges(data: bytes) -> list[tuple[int, int]]:
    start = data.rindex(b"/ByteRange")
    nums = [int(x) for x in data[start : start + 80].split(b"[")[1].split(b"]")[0].split()]
    return [(nums[0], nums[0] + nums[1]), (nums[2], nums[2] + nums[3])]


HEX_DIGITS = b"0123456789ABCDEF"


def _flip(data: bytes, offset: int) -> bytes:
    """Change one byte; inside the hex /Contents, to another hex digit (still parses)."""
    out = bytearray(data)
    c = out[offset]
    out[offset] = HEX_DIGITS[(HEX_DIGITS.index(c) + 1) % 16] if c in HEX_DIGITS else c ^ 0x01
    return bytes(out)


def _contents_der_hex_len(data: bytes, start: int) -> int:
    hex_digits = data[start + 1 : data.index(b">", start)]
    return len(hex_digits.rstrip(b"0"))


@pytest.mark.parametrize(
    "where",
    [
        "page-content",
        "cms-outer-length",
        "cms-digest-algorithms",
        "cms-certificate",
        "cms-signature-value",
        "contents-padding",
        "signature-dictionary-tail",
    ],
)
def test_one_flipped_byte_fails(
    signed_pdf: Path, demo_key: KeyPair, tmp_path: Path, where: str
) -> None:
    data = signed_pdf.read_bytes()
    (a0, a1), (b0, b1) = _signed_ranges(data)
    hex0 = a1 + 1  # first hex digit of /Contents <...>
    der_hex = _contents_der_hex_len(data, a1)
    offset = {
        "page-content": (a0 + a1) // 2,
        "cms-outer-length": hex0 + 7,  # 3082LLLL: low nibble of the length
        "cms-digest-algorithms": hex0 + 60,  # the unsigned digestAlgorithms SET
        "cms-certificate": hex0 + 200,  # inside the embedded signer certificate
        "cms-signature-value": hex0 + der_hex - 10,  # the ECDSA signature at the end
        "contents-padding": hex0 + der_hex + 40,  # zero padding after the DER
        "signature-dictionary-tail": (b0 + b1) // 2,
    }[where]
    bad = tmp_path / "flipped.pdf"
    bad.write_bytes(_flip(data, offset))
    checks = verify_pdf(bad, cert_pem=demo_key.cert_pem)
    assert combine(checks) is not Status.PASS, [c.line() for c in checks]


def test_no_single_flipped_byte_goes_unnoticed(
    signed_pdf: Path, demo_key: KeyPair, tmp_path: Path
) -> None:
    """A sweep: 97 offsets spread over the whole file, none may still verify."""
    data = signed_pdf.read_bytes()
    bad = tmp_path / "flipped.pdf"
    unnoticed = []
    for offset in range(0, len(data), max(1, len(data) // 97)):
        bad.write_bytes(_flip(data, offset))
        if combine(verify_pdf(bad, cert_pem=demo_key.cert_pem)) is Status.PASS:
            unnoticed.append(offset)
    assert unnoticed == []


def test_pdf_signed_by_another_key_fails(
    unsigned_pdf: Path, demo_key: KeyPair, other_key: KeyPair, tmp_path: Path
) -> None:
    forged = sign_pdf(
        unsigned_pdf,
        tmp_path / "other.pdf",
        key_pem=other_key.key_pem,
        cert_pem=other_key.cert_pem,
        reason="test",
        location="ci",
    )
    checks = by_name(verify_pdf(forged, cert_pem=demo_key.cert_pem))
    assert checks["signature intact"] is Status.PASS  # a valid signature ...
    assert checks["signer certificate"] is Status.FAIL  # ... by the wrong signer


def test_change_appended_after_signing_fails_coverage(
    signed_pdf: Path, demo_key: KeyPair, tmp_path: Path
) -> None:
    with signed_pdf.open("rb") as f:
        writer = IncrementalPdfFileWriter(BytesIO(f.read()))
    writer.set_info(None)
    writer.root["/Lang"] = writer.root.get("/Lang", None) or _pdf_string("en")
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    bad = tmp_path / "appended.pdf"
    bad.write_bytes(out.getvalue())
    checks = by_name(verify_pdf(bad, cert_pem=demo_key.cert_pem))
    assert checks["coverage"] is Status.FAIL


def _pdf_string(text: str) -> object:
    from pyhanko.pdf_utils.generic import TextStringObject

    return TextStringObject(text)


def test_without_expected_cert_is_not_a_pass(signed_pdf: Path) -> None:
    checks = verify_pdf(signed_pdf, cert_pem=None)
    assert by_name(checks)["signer certificate"] is Status.NO_DATA
    assert combine(checks) is not Status.PASS


def test_unsigned_pdf_fails(unsigned_pdf: Path, demo_key: KeyPair) -> None:
    checks = verify_pdf(unsigned_pdf, cert_pem=demo_key.cert_pem)
    assert by_name(checks) == {"signature present": Status.FAIL}


def test_missing_file_is_an_error(tmp_path: Path, demo_key: KeyPair) -> None:
    checks = verify_pdf(tmp_path / "absent.pdf", cert_pem=demo_key.cert_pem)
    assert by_name(checks) == {"pdf readable": Status.ERROR}


@pytest.mark.chromium
def test_rendered_pdfs_verify(rendered: list[Path], demo_key: KeyPair, other_key: KeyPair) -> None:
    pdfs = [p for p in rendered if p.suffix == ".pdf"]
    assert len(pdfs) == 2
    for pdf in pdfs:
        assert combine(verify_pdf(pdf, cert_pem=demo_key.cert_pem)) is Status.PASS
        assert combine(verify_pdf(pdf, cert_pem=other_key.cert_pem)) is Status.FAIL


def test_missing_chromium_names_the_package(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(ChromiumError, match=r"Debian package 'chromium'.*make test"):
        html_to_pdf(page, tmp_path / "p.pdf", chromium=str(tmp_path / "no-such-chromium"))


def test_sign_refuses_a_key_that_is_not_the_certificates(
    unsigned_pdf: Path, demo_key: KeyPair, other_key: KeyPair, tmp_path: Path
) -> None:
    with pytest.raises(IgkitError, match="does not belong"):
        sign_pdf(
            unsigned_pdf,
            tmp_path / "x.pdf",
            key_pem=other_key.key_pem,
            cert_pem=demo_key.cert_pem,
            reason="r",
            location="l",
        )
    assert not (tmp_path / "x.pdf").exists()
