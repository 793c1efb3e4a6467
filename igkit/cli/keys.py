"""``igkit keys generate --out DIR [--name igkit] [--subject "CN=..."]``: an ECDSA P-256
signing key for evidence bundles and PDF reports.

Writes ``NAME.key.pem`` (PKCS#8, mode 0600), ``NAME.pub.pem`` and a 1-year self-signed
``NAME.cert.pem``. Refuses to overwrite (ConfigError: exit 2 in ``igkit.cli.main``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeVar

from igkit.errors import ConfigError

_P = TypeVar("_P", bound=argparse.ArgumentParser)


def register(sub: argparse._SubParsersAction[_P], parser_class: type[_P]) -> None:
    """Add ``keys generate`` (dispatch ``args.command == "keys"`` to :func:`run`)."""
    k = sub.add_parser("keys", help="signing keys for evidence bundles and PDF reports")
    ksub = k.add_subparsers(dest="keys_command", required=True, parser_class=parser_class)
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
    from igkit.bundle.keys import generate_keypair, load_signing_key

    if getattr(args, "keys_command", None) != "generate":
        raise ConfigError(f"unknown keys command {args.keys_command!r} (known: generate)")
    files = generate_keypair(args.out, name=args.name, subject=args.subject)
    key = load_signing_key(files.private_key)
    assert key is not None
    print(f"wrote {files.private_key} (private, 0600), {files.public_key}, {files.certificate}")
    print(
        f"fingerprint {key.fingerprint}; sign with: igkit bundle build RUN --key {files.private_key}"
    )
    return 0
