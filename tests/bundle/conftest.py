"""A real demo run, a key pair, and a bundle built from them (built once, copied per test)."""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from igkit.bundle.build import build_bundle
from igkit.bundle.keys import GeneratedKeyFiles, SigningKey, generate_keypair, load_signing_key
from igkit.demo import demo_trust_dir, run_demo
from igkit.errors import ConfigError


def have_pyhanko() -> bool:
    try:
        import pyhanko.sign  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="session")
def keypair(tmp_path_factory: pytest.TempPathFactory) -> GeneratedKeyFiles:
    return generate_keypair(tmp_path_factory.mktemp("keys"), subject="CN=igkit test signer")


@pytest.fixture(scope="session")
def other_keypair(tmp_path_factory: pytest.TempPathFactory) -> GeneratedKeyFiles:
    return generate_keypair(tmp_path_factory.mktemp("other-keys"), name="other")


@pytest.fixture(scope="session")
def signing_key(keypair: GeneratedKeyFiles) -> SigningKey:
    key = load_signing_key(keypair.private_key, env={})
    assert key is not None
    return key


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory, keypair: GeneratedKeyFiles) -> Path:
    """The shipped demo evaluated for real, plus an HTML report and (with pyHanko) a signed PDF."""
    out = tmp_path_factory.mktemp("run") / "out"
    run_demo(out)
    (out / "reports").mkdir()
    (out / "reports" / "summary.html").write_text("<html><body>GO</body></html>\n")
    if have_pyhanko():
        from tests.bundle.pdfutil import signed_pdf

        signed_pdf(out / "reports" / "summary.pdf", keypair.private_key, keypair.certificate)
    return out


@pytest.fixture(scope="session")
def sealed(
    tmp_path_factory: pytest.TempPathFactory, run_dir: Path, signing_key: SigningKey
) -> Path:
    return build_bundle(
        run_dir,
        tmp_path_factory.mktemp("sealed") / "bundle",
        key=signing_key,
        trust_dir=demo_trust_dir(),  # the public anchors ride along for verify --replay
    ).bundle


@pytest.fixture
def bundle(tmp_path: Path, sealed: Path) -> Path:
    """A private copy of the sealed bundle, free to tamper with."""
    dest = tmp_path / "bundle"
    shutil.copytree(sealed, dest, symlinks=True)
    return dest


def cli(argv: Sequence[str]) -> int:
    """The bundle/keys verbs as igkit.cli.main wires them (ConfigError -> exit 2)."""
    from igkit.cli import bundle as cli_bundle
    from igkit.cli import keys as cli_keys
    from igkit.cli.main import _Parser

    parser = _Parser(prog="igkit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    cli_bundle.register(sub, _Parser)
    cli_keys.register(sub, _Parser)
    args: argparse.Namespace = parser.parse_args(list(argv))
    handler = cli_bundle.run if args.command == "bundle" else cli_keys.run
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"igkit: error: {exc}")
        return 2
