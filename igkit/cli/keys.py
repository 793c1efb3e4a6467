"""``igkit keys generate --out DIR [--name igkit] [--subject "CN=..."]``: an ECDSA P-256
signing key for evidence bundles and PDF reports.

Writes ``NAME.key.pem`` (PKCS#8, mode 0600), ``NAME.pub.pem`` and a 1-year self-signed
``NAME.cert.pem``. Refuses to overwrite (ConfigError: exit 2 in ``igkit.cli.main``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from igkit.cli.common import P, dispatch, verb_group


def register(sub: argparse._SubParsersAction[P], parser_class: type[P]) -> None:
    """Add ``keys generate`` (dispatch ``args.command == "keys"`` to :func:`run`)."""
    ksub = verb_group(
        sub, parser_class, "keys", "signing keys for evidence bundles and PDF reports"
    )
    g = ksub.add_parser(
        "generate",
        help="write an ECDSA P-256 key pair and a self-signed signing certificate",
        description="Write NAME.key.pem (PKCS#8, 0600), NAME.pub.pem and NAME.cert.pem "
        "(1 year, KeyUsage digitalSignature+nonRepudiation). Never overwrites.",
    )
    g.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    g.add_argument("--name", default="igkit", help="file name prefix (default igkit)")
    g.add_argument(
        "--subject", default="CN=igkit evidence signing", help="certificate subject, RFC 4514"
    )


def run(args: argparse.Namespace) -> int:
    return dispatch(args, "keys", {"generate": _generate})


def _generate(args: argparse.Namespace) -> int:
    from igkit.bundle.keys import generate_keypair, load_signing_key

    files = generate_keypair(args.out, name=args.name, subject=args.subject)
    key = load_signing_key(files.private_key)
    assert key is not None
    print(f"wrote {files.private_key} (private, 0600), {files.public_key}, {files.certificate}")
    print(
        f"fingerprint {key.fingerprint}; sign with: igkit bundle build RUN --key {files.private_key}"
    )
    return 0
