"""OPA bundle signature verification: OPA-produced bundles, generated bundles, unsafe archives.

Generated bundles are signed here with PyJWT (and, where PyJWT rightly refuses, by hand with
``hmac``); their digests are computed independently of igkit (``json.dumps`` with sorted keys,
valid for the plain data used) so the verifier is not checked against itself.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import hmac
import io
import json
import os
import random
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from igkit.cli.policy import register, run
from igkit.errors import ConfigError
from igkit.judge.evidence.checks import Check, combine
from igkit.judge.evidence.opa import (
    BundleError,
    canonical_form,
    check_verification_key,
    read_bundle,
    verify_bundle,
)
from igkit.verdicts import Status

OPA = Path(__file__).resolve().parents[2] / "fixtures" / "third_party" / "opa" / "eopa-ekm"
AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
NOW = int(AT.timestamp())
SECRET = "0123456789abcdef0123456789abcdef-hs256"
STEPS = ["signatures file", "jwt", "algorithm", "validity", "scope", "file list", "hashes"]

DATA = {"roles": {"admin": ["alice", "bob"]}, "limits": {"rps": 100, "burst": 2.5}}
POLICY = b'package authz\n\ndefault allow := false\n\nallow if input.user == "alice"\n'
MANIFEST = {"revision": "r1", "roots": ["authz", "roles", "limits"]}


# ----------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Signer:
    alg: str
    private: Any  # PyJWT signing key
    public: str  # what the verifier is given: PEM text or the secret


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def signers(rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey) -> dict[str, Signer]:
    return {
        "RS256": Signer("RS256", rsa_key, _pem(rsa_key)),
        "PS256": Signer("PS256", rsa_key, _pem(rsa_key)),
        "ES256": Signer("ES256", ec_key, _pem(ec_key)),
        "HS256": Signer("HS256", SECRET, SECRET),
    }


@pytest.fixture(scope="module")
def rs(signers: dict[str, Signer]) -> Signer:
    return signers["RS256"]


def opa_hash(name: str, data: bytes, algorithm: str = "sha256") -> str:
    """OPA's digest, computed independently: canonical JSON for the structured files."""
    base = name.rsplit("/", 1)[-1]
    if base in ("data.json", ".manifest"):
        data = json.dumps(
            json.loads(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    return hashlib.new(algorithm, data).hexdigest()


def content() -> dict[str, bytes]:
    return {
        "data.json": json.dumps(DATA, indent=2).encode(),
        ".manifest": json.dumps(MANIFEST).encode(),
        "authz/policy.rego": POLICY,
        "authz/data.json": b'{"enabled": true, "owners": ["sec"]}',
    }


def file_entries(files: Mapping[str, bytes]) -> list[dict[str, str]]:
    return [
        {"name": n, "hash": opa_hash(n, d), "algorithm": "SHA-256"}
        for n, d in sorted(files.items())
    ]


def sign(
    signer: Signer,
    claims: dict[str, Any],
    *,
    headers: dict[str, Any] | None = None,
) -> str:
    return jwt.encode(claims, signer.private, algorithm=signer.alg, headers=headers or {"kid": "k"})


def manual_jwt(header: dict[str, Any], payload: bytes, key: bytes, alg: str = "HS256") -> str:
    def b64(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(payload)}"
    digest = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}[alg]
    mac = hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(mac)}"


def signatures(*tokens: str) -> bytes:
    return json.dumps({"signatures": list(tokens)}, indent=1).encode()


def signed(
    signer: Signer,
    files: Mapping[str, bytes] | None = None,
    *,
    listed: list[dict[str, str]] | None = None,
    **claims: Any,
) -> dict[str, bytes]:
    """A bundle: ``files`` plus a /.signatures.json over ``listed`` (default: all of them)."""
    files = dict(content() if files is None else files)
    body = {"files": file_entries(files) if listed is None else listed, "keyid": "k", **claims}
    return {**files, ".signatures.json": signatures(sign(signer, body))}


def verify(files: Mapping[str, bytes], signer: Signer, **kwargs: Any) -> list[Check]:
    kwargs.setdefault("at", AT)
    return verify_bundle(files=files, key=signer.public, signing_alg=signer.alg, **kwargs)


def by_name(checks: list[Check]) -> dict[str, list[Check]]:
    out: dict[str, list[Check]] = {}
    for c in checks:
        out.setdefault(c.name, []).append(c)
    return out


def assert_pass(checks: list[Check]) -> None:
    assert [c.name for c in checks] == STEPS, [c.line() for c in checks]
    assert all(c.ok for c in checks), [c.line() for c in checks]
    assert combine(checks) is Status.PASS


def assert_not_pass(checks: list[Check], step: str, *words: str) -> Check:
    """The combined result is not PASS and ``step`` failed, saying ``words``."""
    assert combine(checks) is not Status.PASS, [c.line() for c in checks]
    failing = [c for c in checks if c.name == step and not c.ok]
    assert failing, [c.line() for c in checks]
    text = " ".join(c.detail for c in failing)
    for word in words:
        assert word in text, text
    return failing[0]


def write_tar(
    path: Path,
    files: Mapping[str, bytes],
    *,
    root: str = "/",
    extra: Callable[[tarfile.TarFile], None] | None = None,
) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(root + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if extra:
            extra(tar)
    return path


def write_dir(path: Path, files: Mapping[str, bytes]) -> Path:
    for name, data in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return path


def read_error(path: Path, **limits: int) -> BundleError:
    with pytest.raises(BundleError) as info:
        read_bundle(path, **limits)
    return info.value


# ------------------------------------------------------------------ OPA-produced bundles


@pytest.mark.parametrize(
    ("bundle", "names"),
    [
        ("bundle/bundle.tar.gz", [".signatures.json", "data.json"]),
        ("discovery/discovery.tar.gz", [".manifest", ".signatures.json", "data.json"]),
    ],
)
def test_opa_produced_bundle_verifies_with_its_key(bundle: str, names: list[str]) -> None:
    # PROVENANCE: real eopa/OPA-signed bundles, RS256, kid/keyid "default", expected PASS.
    files = read_bundle(OPA / bundle)
    assert sorted(files) == names  # tar members are "/data.json": OPA names them "data.json"
    key = (OPA / bundle.split("/")[0] / "public_key.pem").read_text()
    checks = verify_bundle(files=files, key=key, signing_alg="RS256", at=AT)
    assert_pass(checks)
    assert "keyid 'default'" in checks[1].detail
    assert "canonical JSON" in checks[-1].detail


def test_opa_produced_manifest_is_hashed_in_canonical_form_not_raw() -> None:
    # .manifest is written in Go struct order (revision, roots, rego_version); OPA signs the
    # keys-sorted compact form. Raw bytes do not match the signed digest; canonical does.
    files = read_bundle(OPA / "discovery/discovery.tar.gz")
    manifest = files[".manifest"]
    assert manifest == b'{"revision":"","roots":[""],"rego_version":0}\n'
    assert canonical_form(".manifest", manifest) == b'{"rego_version":0,"revision":"","roots":[""]}'
    token = json.loads(files[".signatures.json"])["signatures"][0]
    listed = {
        f["name"]: f["hash"]
        for f in jwt.decode(token, options={"verify_signature": False})["files"]
    }
    assert hashlib.sha256(manifest).hexdigest() != listed[".manifest"]
    assert hashlib.sha256(canonical_form(".manifest", manifest)).hexdigest() == listed[".manifest"]
    # data.json: OPA wrote it compact with a trailing newline; the newline is not hashed.
    data = files["data.json"]
    assert hashlib.sha256(data).hexdigest() != listed["data.json"]
    assert hashlib.sha256(canonical_form("data.json", data)).hexdigest() == listed["data.json"]


def test_opa_produced_bundle_fails_with_another_key(rsa_key: rsa.RSAPrivateKey) -> None:
    files = read_bundle(OPA / "bundle/bundle.tar.gz")
    checks = verify_bundle(files=files, key=_pem(rsa_key), at=AT)
    assert_not_pass(checks, "jwt", "does not verify")
    assert all(c.status is Status.NO_DATA for c in checks[3:])


def test_opa_produced_bundle_with_reordered_data_still_verifies_but_edited_fails() -> None:
    files = read_bundle(OPA / "bundle/bundle.tar.gz")
    key = (OPA / "bundle/public_key.pem").read_text()
    value = json.loads(files["data.json"])
    pretty = {**files, "data.json": json.dumps(value, indent=4, sort_keys=False).encode()}
    reversed_keys = dict(reversed(list(value.items())))
    reordered = {**files, "data.json": json.dumps(reversed_keys).encode()}
    assert_pass(verify_bundle(files=pretty, key=key, at=AT))
    assert_pass(verify_bundle(files=reordered, key=key, at=AT))
    value["services"]["acmecorp"] = {"url": "https://attacker.example"}
    edited = {**files, "data.json": json.dumps(value).encode()}
    assert_not_pass(verify_bundle(files=edited, key=key, at=AT), "hashes", "data.json")


def test_opa_produced_bundle_has_no_scope_so_a_configured_scope_fails() -> None:
    files = read_bundle(OPA / "bundle/bundle.tar.gz")
    key = (OPA / "bundle/public_key.pem").read_text()
    checks = verify_bundle(files=files, key=key, scope="write", at=AT)
    assert_not_pass(checks, "scope", "no scope", "'write'")


# ------------------------------------------------------------------- canonical hashing


def test_canonical_json_sorts_keys_compacts_and_keeps_numbers_as_written() -> None:
    raw = b'{ "b" : 1.0, "a": [1E+2, -0, 0.10, 12345678901234567890123], "Z": {} }'
    assert canonical_form("data.json", raw) == (
        b'{"Z":{},"a":[1E+2,-0,0.10,12345678901234567890123],"b":1.0}'
    )


def test_canonical_json_sorts_keys_by_utf8_bytes() -> None:
    raw = '{"é": 1, "z": 2, "Z": 3, "a": 4, "\U0001f600": 5, "\uffff": 6}'.encode()
    assert canonical_form("x/data.json", raw) == (
        '{"Z":3,"a":4,"z":2,"é":1,"\uffff":6,"\U0001f600":5}'.encode()
    )


def test_canonical_json_escapes_strings_like_go_without_html_escaping() -> None:
    # OPA's encodePrimitive uses json.Encoder with SetEscapeHTML(false): <, >, & stay
    # literal; U+2028/U+2029 and control characters are escaped; \b and \f short (Go >= 1.22).
    raw = b'{"s": "a<b>&c \\u2028 \\u2029 \\u0001 \\b \\f \\n \\t \\" \\\\ \\/ \\u00e9 \x7f"}'
    assert canonical_form("data.json", raw) == (
        '{"s":"a<b>&c \\u2028 \\u2029 \\u0001 \\b \\f \\n \\t \\" \\\\ / é \x7f"}'.encode()
    )


def test_canonical_json_replaces_invalid_utf8_and_lone_surrogates_like_go() -> None:
    raw = b'{"s": "\xff\xe2\x82A \\ud800 \\ud83d\\ude00"}'
    assert (
        canonical_form("data.json", raw) == '{"s":"\ufffd\ufffd\ufffdA \ufffd \U0001f600"}'.encode()
    )


def test_canonical_json_strips_bom() -> None:
    assert canonical_form(".manifest", b'\xef\xbb\xbf{"b": 1, "a": 2}') == b'{"a":2,"b":1}'


@pytest.mark.parametrize("name", [".manifest", "data.json", "data.yaml", "x/y/data.json"])
def test_canonical_form_refuses_a_duplicate_key_with_its_path(name: str) -> None:
    """Go keeps the last of two keys; igkit refuses so no value is silently dropped."""
    with pytest.raises(ValueError, match=r"duplicate key 'a' in x\[0\]"):
        canonical_form(name, b'{"x": [{"a": 1, "a": 2}]}')
    assert canonical_form(name, b'{"x": [{"a": 1, "b": 2}]}') == b'{"x":[{"a":1,"b":2}]}'


def test_canonical_form_is_raw_bytes_for_other_files_including_data_yml() -> None:
    assert canonical_form("policy.rego", b" x ") == b" x "
    assert canonical_form("data.yml", b"a: 1\n") == b"a: 1\n"  # not a structured doc in OPA
    assert canonical_form("my-data.json", b'{ "b":1 }') == b'{ "b":1 }'


def test_canonical_yaml_follows_go_yaml_to_json() -> None:
    raw = b"""# comment
name: "x"
count: 3
ratio: 0.5
big: 1e21
tiny: 0.0000001
whole: 3.0
hex: 0x1F
octal: 017
under: 1_000
list: [1, two, 3.0, null, ~, true]
nested: {k: v, 2: two}
when: 2001-12-14
"""
    assert canonical_form("data.yaml", raw) == (
        b'{"big":1e+21,"count":3,"hex":31,"list":[1,"two",3,null,null,true],'
        b'"name":"x","nested":{"2":"two","k":"v"},"octal":15,"ratio":0.5,"tiny":1e-7,'
        b'"under":1000,"when":"2001-12-14","whole":3}'
    )


def test_canonical_yaml_that_is_json_keeps_numbers_as_written() -> None:
    assert canonical_form("data.yaml", b'{"b": 3.0, "a": 1}') == b'{"a":1,"b":3.0}'


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"enabled: yes\n", "yaml.v2"),
        (b"a: 1\na: 2\n", "duplicate key 'a'"),
        (b"x: .nan\n", "finite"),
        (b"a: !!binary aGVsbG8=\n", "tag"),
        (b"base: &b {a: 1}\nderived:\n  <<: *b\n", "merge"),
        (b"? [1, 2]\n: x\n", "mapping key"),
        (b"a: 1\n---\nb: 2\n", "YAML"),
        (b"a: [\n", "neither JSON nor YAML"),
        (
            b'a: &a ["x", "x"]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n'
            b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
            b"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
            b"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
            b"g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
            "too many nodes",
        ),
    ],
)
def test_canonical_yaml_refuses_what_it_cannot_reproduce(raw: bytes, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        canonical_form("data.yaml", raw)


def test_canonical_json_refuses_yaml_in_data_json_and_deep_nesting() -> None:
    with pytest.raises(ValueError, match=r"OPA loads data\.json as JSON"):
        canonical_form("data.json", b"a: 1\n")
    with pytest.raises(ValueError, match="NaN"):
        canonical_form("data.json", b'{"a": NaN}')
    with pytest.raises(ValueError, match="deep"):
        canonical_form("data.json", b"[" * 100_000 + b"]" * 100_000)


def test_data_json_hash_uses_legacy_go_escapes_too(rs: Signer) -> None:
    # OPA built with Go < 1.22 hashed "\b" as \u0008: such older signatures still verify.
    files = {"data.json": b'{"s": "a\\bb"}'}
    legacy = hashlib.sha256(b'{"s":"a\\u0008b"}').hexdigest()
    bundle = signed(
        rs, files, listed=[{"name": "data.json", "hash": legacy, "algorithm": "SHA-256"}]
    )
    assert_pass(verify(bundle, rs))


# ----------------------------------------------------------------------- happy paths


@pytest.mark.parametrize("alg", ["RS256", "ES256", "HS256", "PS256"])
@pytest.mark.parametrize("container", ["tar.gz", "directory"])
def test_generated_bundle_verifies(
    signers: dict[str, Signer], alg: str, container: str, tmp_path: Path
) -> None:
    signer = signers[alg]
    bundle = signed(signer, scope="write", iat=NOW - 60, exp=NOW + 3600, nbf=NOW - 60)
    if container == "tar.gz":
        path = write_tar(tmp_path / "bundle.tar.gz", bundle)
    else:
        path = write_dir(tmp_path / "bundle", bundle)
    files = read_bundle(path)
    assert files == bundle
    checks = verify(files, signer, scope="write")
    assert_pass(checks)
    assert alg in checks[1].detail
    assert "4 file(s) match" in checks[-1].detail


def test_relative_member_names_verify_too(rs: Signer, tmp_path: Path) -> None:
    path = write_tar(tmp_path / "b.tar.gz", signed(rs), root="")
    assert_pass(verify(read_bundle(path), rs))


@pytest.mark.parametrize(
    "algorithm", ["SHA-512", "SHA-384", "SHA-224", "SHA-1", "MD5", "SHA-512-256"]
)
def test_other_hash_algorithms_as_opa(rs: Signer, algorithm: str) -> None:
    files = content()
    py = {
        "SHA-512": "sha512",
        "SHA-384": "sha384",
        "SHA-224": "sha224",
        "SHA-1": "sha1",
        "MD5": "md5",
        "SHA-512-256": "sha512_256",
    }[algorithm]
    listed = [
        {"name": n, "hash": opa_hash(n, d, py), "algorithm": algorithm} for n, d in files.items()
    ]
    checks = verify(signed(rs, files, listed=listed), rs)
    assert_pass(checks)
    if algorithm in ("MD5", "SHA-1"):
        assert "weak" in checks[-1].detail


# ------------------------------------------------------------------ file list / hashes


def test_extra_file_fails(rs: Signer) -> None:
    bundle = {**signed(rs), "authz/backdoor.rego": b"package authz\nallow := true\n"}
    assert_not_pass(verify(bundle, rs), "file list", "not covered", "authz/backdoor.rego")


def test_missing_file_fails(rs: Signer) -> None:
    bundle = signed(rs)
    del bundle["authz/policy.rego"]
    assert_not_pass(verify(bundle, rs), "file list", "missing", "authz/policy.rego")


def test_one_byte_change_fails(rs: Signer) -> None:
    bundle = signed(rs)
    rego = bytearray(bundle["authz/policy.rego"])
    rego[-2] ^= 0x01
    bundle["authz/policy.rego"] = bytes(rego)
    bad = assert_not_pass(verify(bundle, rs), "hashes", "authz/policy.rego", "raw bytes")
    assert bad.detail.startswith("authz/policy.rego: SHA-256 of the raw bytes is ")


def test_reformatted_but_equal_data_json_passes(rs: Signer) -> None:
    bundle = signed(rs)
    bundle["data.json"] = (
        b'{"limits":{"burst":2.5,"rps":100},\n\n "roles" : {"admin":["alice","bob"]}}'
    )
    bundle[".manifest"] = json.dumps(dict(reversed(list(MANIFEST.items()))), indent=8).encode()
    assert_pass(verify(bundle, rs))


def test_semantically_different_data_json_fails(rs: Signer) -> None:
    bundle = signed(rs)
    bundle["data.json"] = json.dumps(
        {**DATA, "roles": {"admin": ["alice", "bob", "mallory"]}}
    ).encode()
    assert_not_pass(verify(bundle, rs), "hashes", "data.json", "canonical JSON")


def test_number_spelling_matters_in_data_json_as_in_opa(rs: Signer) -> None:
    # OPA hashes json.Number as written: 100 and 100.0 are different documents to it.
    bundle = signed(rs)
    bundle["data.json"] = json.dumps({**DATA, "limits": {"rps": 100.0, "burst": 2.5}}).encode()
    assert_not_pass(verify(bundle, rs), "hashes", "data.json")


def test_invalid_data_json_fails_without_traceback(rs: Signer) -> None:
    bundle = signed(rs)
    bundle["data.json"] = b'{"roles": '
    assert_not_pass(verify(bundle, rs), "hashes", "data.json", "not valid JSON")


def test_exclude_files_is_honoured_like_go_filepath_match(rs: Signer) -> None:
    files = content()
    bundle = signed(rs, files)
    bundle["README.md"] = b"unsigned notes"
    bundle["docs/guide.md"] = b"unsigned, in a subdirectory"
    assert_not_pass(verify(bundle, rs), "file list", "README.md", "docs/guide.md")
    # "*.md" matches README.md but, as in Go, '*' does not cross '/'.
    checks = verify(bundle, rs, exclude_files=["*.md"])
    assert_not_pass(checks, "file list", "docs/guide.md")
    assert "README.md" not in by_name(checks)["file list"][0].detail.split("excluded")[0]
    checks = verify(bundle, rs, exclude_files=["*.md", "docs/*"])
    assert_pass(checks)
    assert "excluded from verification: README.md, docs/guide.md" in checks[5].detail


def test_excluded_file_is_not_hashed_but_a_missing_signed_one_still_fails(rs: Signer) -> None:
    bundle = signed(rs)
    bundle["authz/data.json"] = b'{"enabled": false}'  # tampered, but excluded
    assert_pass(verify(bundle, rs, exclude_files=["authz/data.json"]))
    del bundle["authz/data.json"]  # signed and absent: OPA still reports it
    assert_not_pass(verify(bundle, rs, exclude_files=["authz/data.json"]), "file list", "missing")


def test_bad_exclude_glob_is_a_config_error(rs: Signer) -> None:
    with pytest.raises(ConfigError, match="bad glob"):
        verify(signed(rs), rs, exclude_files=["[a-"])


def test_missing_or_unknown_hash_algorithm_fails_as_in_opa(rs: Signer) -> None:
    files = {"data.json": b'{"a": 1}', "p.rego": POLICY}
    listed = [
        {"name": "data.json", "hash": opa_hash("data.json", files["data.json"])},
        {"name": "p.rego", "hash": opa_hash("p.rego", POLICY), "algorithm": "SHA256"},
    ]
    checks = verify(signed(rs, files, listed=listed), rs)
    assert_not_pass(
        checks, "hashes", "no hashing algorithm", "unsupported hashing algorithm 'SHA256'"
    )


def test_leading_slash_names_in_the_signature_fail_with_a_hint(rs: Signer) -> None:
    files = {"data.json": b'{"a": 1}'}
    listed = [
        {
            "name": "/data.json",
            "hash": opa_hash("data.json", files["data.json"]),
            "algorithm": "SHA-256",
        }
    ]
    checks = verify(signed(rs, files, listed=listed), rs)
    assert_not_pass(checks, "file list", "leading '/'")


def test_file_listed_twice_fails(rs: Signer) -> None:
    files = {"data.json": b'{"a": 1}'}
    entry = file_entries(files)[0]
    assert_not_pass(verify(signed(rs, files, listed=[entry, entry]), rs), "file list", "twice")


def test_non_hex_hash_fails(rs: Signer) -> None:
    listed = [{"name": "p.rego", "hash": "zz" * 32, "algorithm": "SHA-256"}]
    checks = verify(signed(rs, {"p.rego": POLICY}, listed=listed), rs)
    assert_not_pass(checks, "hashes", "not hex")


# ------------------------------------------------------------------- scope and time


def test_wrong_scope_fails(rs: Signer) -> None:
    assert_not_pass(
        verify(signed(rs, scope="read"), rs, scope="write"), "scope", "'read'", "'write'"
    )


def test_token_scope_without_configured_scope_fails_and_says_so(rs: Signer) -> None:
    checks = verify(signed(rs, scope="write"), rs)
    assert_not_pass(checks, "scope", "no scope is configured", "scope mismatch")


def test_expired_jwt_fails(rs: Signer) -> None:
    checks = verify(signed(rs, exp=NOW - 1), rs)
    assert_not_pass(checks, "validity", "expired")
    assert_pass(verify(signed(rs, exp=NOW - 1), rs, max_clock_skew=timedelta(seconds=5)))


def test_not_yet_valid_jwt_fails(rs: Signer) -> None:
    assert_not_pass(verify(signed(rs, nbf=NOW + 600), rs), "validity", "not yet valid")


def test_jwt_issued_in_the_future_fails(rs: Signer) -> None:
    assert_not_pass(verify(signed(rs, iat=NOW + 600), rs), "validity", "issued in the future")


def test_non_integer_iat_fails_as_in_opa(rs: Signer) -> None:
    assert_not_pass(verify(signed(rs, iat=NOW + 0.5), rs), "jwt", "iat", "int64")


# ---------------------------------------------------------------- signatures and keys


def test_two_jwts_fail(rs: Signer) -> None:
    bundle = signed(rs)
    token = json.loads(bundle[".signatures.json"])["signatures"][0]
    bundle[".signatures.json"] = signatures(token, token)
    checks = verify(bundle, rs)
    assert_not_pass(checks, "signatures file", "2 JWTs", "exactly one")
    assert [c.status for c in checks[1:]] == [Status.NO_DATA] * 6


def test_zero_jwts_fail(rs: Signer) -> None:
    bundle = {**signed(rs), ".signatures.json": b'{"signatures": []}'}
    assert_not_pass(verify(bundle, rs), "signatures file", "no JWT")


def test_unsigned_bundle_fails(rs: Signer) -> None:
    bundle = signed(rs)
    del bundle[".signatures.json"]
    assert_not_pass(verify(bundle, rs), "signatures file", "not signed")


def test_another_signatures_file_is_refused(rs: Signer) -> None:
    bundle = {**signed(rs), "authz/.signatures.json": signed(rs)[".signatures.json"]}
    assert_not_pass(verify(bundle, rs), "signatures file", "authz/.signatures.json")


def test_wrong_key_fails(signers: dict[str, Signer]) -> None:
    other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_ec = ec.generate_private_key(ec.SECP256R1())
    rs, es, hs = signers["RS256"], signers["ES256"], signers["HS256"]
    assert_not_pass(
        verify(signed(rs), Signer("RS256", None, _pem(other_rsa))), "jwt", "does not verify"
    )
    assert_not_pass(
        verify(signed(es), Signer("ES256", None, _pem(other_ec))), "jwt", "does not verify"
    )
    assert_not_pass(
        verify(signed(hs), Signer("HS256", None, SECRET + "x")), "jwt", "does not verify"
    )


def test_algorithm_in_header_must_be_the_configured_one(signers: dict[str, Signer]) -> None:
    rs = signers["RS256"]
    checks = verify(signed(signers["PS256"]), rs)  # same RSA key, PSS instead of PKCS#1 v1.5
    assert_not_pass(checks, "algorithm", "'PS256'", "RS256 is configured")
    assert_not_pass(checks, "jwt", "not checked")


def test_alg_confusion_hs256_signed_with_the_rsa_public_key_fails(rs: Signer) -> None:
    files = content()
    payload = json.dumps({"files": file_entries(files), "keyid": "k"}).encode()
    forged = manual_jwt({"alg": "HS256", "kid": "k"}, payload, rs.public.encode())
    bundle = {**files, ".signatures.json": signatures(forged)}
    # Verified as configured (RS256 + public key): the header's HS256 is refused.
    checks = verify(bundle, rs)
    assert_not_pass(checks, "algorithm", "'HS256'")
    # Misconfigured as HS256 with the public PEM as "secret": refused as well.
    checks = verify_bundle(files=bundle, key=rs.public, signing_alg="HS256", at=AT)
    bad = assert_not_pass(checks, "jwt", "algorithm confusion")
    assert bad.status is Status.FAIL


def test_short_hs256_secret_verifies_like_opa_but_is_flagged() -> None:
    files = {"p.rego": POLICY}
    payload = json.dumps({"files": file_entries(files)}).encode()
    token = manual_jwt({"alg": "HS256", "typ": "JWT"}, payload, b"secret")
    checks = verify_bundle(
        files={**files, ".signatures.json": signatures(token)},
        key="secret",
        signing_alg="HS256",
        at=AT,
    )
    assert_pass(checks)
    assert "6-byte HMAC secret is guessable" in checks[1].detail


def test_tampered_payload_fails_signature(rs: Signer) -> None:
    bundle = signed(rs)
    head, payload, sig = json.loads(bundle[".signatures.json"])["signatures"][0].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["files"] = claims["files"][:1]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    bundle[".signatures.json"] = signatures(f"{head}.{forged}.{sig}")
    assert_not_pass(verify(bundle, rs), "jwt", "does not verify")


@pytest.mark.parametrize(
    "sigfile",
    [
        b"",
        b"[]",
        b"not json",
        b'{"signatures": "abc"}',
        b'{"signatures": [1]}',
        b'{"signatures": ["a.b"]}',
        b'{"signatures": ["a.b.c"]}',
        b'{"signatures": ["!!!.???.***"]}',
        b'{"signatures": ["e30.e30.e30"]}',
        b'{"signatures": ["eyJhbGciOiJub25lIn0.e30."]}',
        b'{"signatures": [], "signatures": ["x"]}',
        b'{"Signatures": ["x"], "signatures": []}',
        b'{"signatures": ["x"], "plugin": "my-kms"}',
        b'\xff\xfe{"signatures": []}',
    ],
)
def test_malformed_signatures_never_pass_and_never_raise(rs: Signer, sigfile: bytes) -> None:
    checks = verify({**content(), ".signatures.json": sigfile}, rs)
    assert combine(checks) is not Status.PASS
    assert [c.name for c in checks] == STEPS


@pytest.mark.parametrize(
    "claims",
    [
        {"files": "data.json"},
        {"files": [None]},
        {"files": [{"name": 1, "hash": "00", "algorithm": "SHA-256"}]},
        {"files": [], "scope": 5},
        {"files": [], "exp": "tomorrow"},
        {"files": [], "FILES": []},
        {"files": [], "ſcope": "x"},
    ],
)
def test_malformed_claims_never_pass(rs: Signer, claims: dict[str, Any]) -> None:
    bundle = {"p.rego": POLICY, ".signatures.json": signatures(sign(rs, claims))}
    assert_not_pass(verify(bundle, rs), "jwt", "signature verifies, but")


def test_duplicate_claim_keys_are_refused(rs: Signer) -> None:
    files = {"p.rego": POLICY}
    payload = b'{"files": [], "files": ' + json.dumps(file_entries(files)).encode() + b"}"
    token = manual_jwt({"alg": "HS256"}, payload, SECRET.encode())
    checks = verify_bundle(
        files={**files, ".signatures.json": signatures(token)},
        key=SECRET,
        signing_alg="HS256",
        at=AT,
    )
    assert_not_pass(checks, "jwt", "duplicate key 'files'")


@pytest.mark.parametrize(
    ("key", "alg", "words"),
    [
        ("", "HS256", "empty"),
        ("not a pem", "RS256", "not PEM"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "RS256", "loadable"),
    ],
)
def test_unusable_keys_are_errors_not_tracebacks(
    rs: Signer, key: str, alg: str, words: str
) -> None:
    checks = verify_bundle(files=signed(rs), key=key, signing_alg=alg, at=AT)
    bad = assert_not_pass(checks, "jwt", words)
    assert bad.status is Status.ERROR
    with pytest.raises(ConfigError, match=words):
        check_verification_key(key, alg)


def test_key_type_must_fit_the_algorithm(signers: dict[str, Signer]) -> None:
    with pytest.raises(ConfigError, match="needs an EC key"):
        check_verification_key(signers["RS256"].public, "ES256")
    with pytest.raises(ConfigError, match="needs an RSA key"):
        check_verification_key(signers["ES256"].public, "PS256")
    with pytest.raises(ConfigError, match="P-384"):
        check_verification_key(signers["ES256"].public, "ES384")
    private = signers["RS256"].private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ConfigError, match="private key"):
        check_verification_key(private.decode(), "RS256")
    with pytest.raises(ConfigError, match="unsupported signing algorithm"):
        check_verification_key(SECRET, "none")


def test_naive_time_and_negative_skew_are_config_errors(rs: Signer) -> None:
    with pytest.raises(ConfigError):
        verify(signed(rs), rs, at=datetime(2025, 1, 1))
    with pytest.raises(ConfigError):
        verify(signed(rs), rs, max_clock_skew=timedelta(seconds=-1))


def test_corrupted_tokens_never_pass_and_never_raise(rs: Signer) -> None:
    bundle = signed(rs)
    token = json.loads(bundle[".signatures.json"])["signatures"][0]
    rng = random.Random(20250601)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}"
    for _ in range(300):
        chars = list(token)
        for _ in range(rng.randint(1, 3)):
            # the last character can carry ignored base64 padding bits: leave it alone
            chars[rng.randrange(len(chars) - 1)] = rng.choice(alphabet)
        mutated = "".join(chars)
        if mutated == token:
            continue
        checks = verify({**bundle, ".signatures.json": signatures(mutated)}, rs)
        assert combine(checks) is not Status.PASS, mutated
        assert [c.name for c in checks] == STEPS


def test_corrupted_archives_raise_only_bundle_errors(rs: Signer, tmp_path: Path) -> None:
    path = write_tar(tmp_path / "b.tar.gz", signed(rs))
    raw = path.read_bytes()
    rng = random.Random(7)
    outcomes = set()
    for _ in range(300):
        data = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        path.write_bytes(bytes(data))
        try:
            files = read_bundle(path)
        except BundleError as exc:
            outcomes.add(exc.status)
            continue
        checks = verify(files, rs)  # whatever survived decompression is judged, not trusted
        outcomes.add(combine(checks))
    assert Status.ERROR in outcomes


# ------------------------------------------------------------------ unsafe bundles


def test_path_traversal_entry_is_refused(rs: Signer, tmp_path: Path) -> None:
    path = write_tar(tmp_path / "b.tar.gz", {**signed(rs), "../x": b"boom"}, root="")
    assert "'../x'" in read_error(path).message
    assert "escapes" in read_error(path).message


def test_rooted_traversal_entry_is_refused(rs: Signer, tmp_path: Path) -> None:
    path = write_tar(tmp_path / "b.tar.gz", {**signed(rs), "../../etc/cron.d/x": b"boom"})
    assert "escapes the bundle root" in read_error(path).message


def test_absolute_entry_among_relative_ones_is_refused(rs: Signer, tmp_path: Path) -> None:
    def add_passwd(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("/etc/passwd")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"root"))

    path = write_tar(tmp_path / "b.tar.gz", signed(rs), root="", extra=add_passwd)
    err = read_error(path)
    assert "'/etc/passwd'" in err.message
    assert "absolute path" in err.message


def test_absolute_entry_in_an_opa_rooted_archive_is_an_unsigned_extra_file(
    rs: Signer, tmp_path: Path
) -> None:
    # In OPA's own layout every member is "/..."; "/etc/passwd" is then the bundle file
    # "etc/passwd" (nothing is extracted), which the signature does not cover.
    path = write_tar(tmp_path / "b.tar.gz", {**signed(rs), "etc/passwd": b"root"})
    checks = verify(read_bundle(path), rs)
    assert_not_pass(checks, "file list", "etc/passwd")


def test_doubly_rooted_entry_is_refused(rs: Signer, tmp_path: Path) -> None:
    path = write_tar(tmp_path / "b.tar.gz", {**signed(rs), "/etc/passwd": b"root"})
    assert "absolute path" in read_error(path).message


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        (tarfile.SYMTYPE, "symbolic link"),
        (tarfile.LNKTYPE, "hard link"),
        (tarfile.CHRTYPE, "character device"),
        (tarfile.FIFOTYPE, "FIFO"),
    ],
)
def test_link_and_device_entries_are_refused(
    rs: Signer, tmp_path: Path, kind: bytes, words: str
) -> None:
    def add_special(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("/authz/link.rego")
        info.type = kind
        info.linkname = "/etc/passwd" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
        tar.addfile(info)

    path = write_tar(tmp_path / "b.tar.gz", signed(rs), extra=add_special)
    err = read_error(path)
    assert words in err.message
    assert "/authz/link.rego" in err.message
    assert err.status is Status.FAIL


def test_tar_bomb_with_too_many_entries_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for i in range(10_001):
            tar.addfile(tarfile.TarInfo(f"/f{i}"), io.BytesIO(b""))
    err = read_error(path)  # default limit: 10,000 entries
    assert "more than 10000 entries" in err.message
    assert "tar bomb" in err.message


def test_tar_bomb_with_too_many_bytes_is_refused(tmp_path: Path) -> None:
    path = write_tar(tmp_path / "big.tar.gz", {"data.json": b"[" + b"0," * 600_000 + b"0]"})
    assert path.stat().st_size < 10_000  # tiny on disk
    err = read_error(path, max_bytes=1_000_000)
    assert "expands past 1000000 bytes" in err.message


def test_gzip_bomb_in_headers_is_refused(tmp_path: Path) -> None:
    # A pax header of 5 MB of records: the decompressed stream is bounded, not just members.
    path = tmp_path / "pax.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("/data.json")
        info.pax_headers = {"comment": "x" * 5_000_000}
        tar.addfile(info, io.BytesIO(b""))
    err = read_error(path, max_bytes=1000, max_entries=10)
    assert "gzip bomb" in err.message


def test_duplicate_and_dot_entries_are_refused(rs: Signer, tmp_path: Path) -> None:
    def add_twice(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("/data.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))

    err = read_error(write_tar(tmp_path / "d.tar.gz", signed(rs), extra=add_twice))
    assert "appears twice" in err.message
    err = read_error(write_tar(tmp_path / "dot.tar.gz", signed(rs), root="./"))
    assert "'.' segment" in err.message


def test_not_a_tarball_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "plain.tar.gz").write_bytes(b"just text")
    assert read_error(tmp_path / "plain.tar.gz").status is Status.ERROR
    (tmp_path / "broken.tar.gz").write_bytes(gzip.compress(b"x" * 1000)[:-12])
    err = read_error(tmp_path / "broken.tar.gz")
    assert err.status is Status.ERROR
    assert "not a readable .tar.gz" in err.message


def test_symlink_in_a_bundle_directory_is_refused(rs: Signer, tmp_path: Path) -> None:
    root = write_dir(tmp_path / "bundle", signed(rs))
    (root / "authz" / "secrets.rego").symlink_to("/etc/passwd")
    err = read_error(root)
    assert "symbolic link" in err.message
    assert "authz/secrets.rego" in err.message
    (root / "authz" / "secrets.rego").unlink()
    (root / "linked").symlink_to(tmp_path, target_is_directory=True)
    assert "symbolic link" in read_error(root).message


def test_fifo_in_a_bundle_directory_is_refused(rs: Signer, tmp_path: Path) -> None:
    root = write_dir(tmp_path / "bundle", signed(rs))
    os.mkfifo(root / "pipe")
    assert "FIFO" in read_error(root).message


def test_directory_limits(tmp_path: Path) -> None:
    root = write_dir(tmp_path / "bundle", {f"f{i}": b"x" for i in range(5)})
    assert "more than 4 entries" in read_error(root, max_entries=4).message
    assert "larger than 3 bytes" in read_error(root, max_bytes=3).message


# ------------------------------------------------------------------------------- CLI


def _cli(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="igkit")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub, argparse.ArgumentParser)
    return parser.parse_args(argv)


def _pem_file(tmp_path: Path, text: str, name: str = "key.pem") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_cli_verifies_an_opa_produced_bundle(capsys: pytest.CaptureFixture[str]) -> None:
    args = _cli(
        [
            "policy",
            "verify-bundle",
            str(OPA / "discovery/discovery.tar.gz"),
            "--verification-key",
            str(OPA / "discovery/public_key.pem"),
            "--at",
            "2025-06-01T00:00:00Z",
        ]
    )
    assert run(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 8
    assert all("PASS" in line for line in out)
    assert out[-1].startswith(f"OPA bundle {OPA / 'discovery/discovery.tar.gz'}: PASS")


def test_cli_lists_every_failing_check(
    rs: Signer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = signed(rs, scope="read", exp=NOW - 10)
    bundle["authz/policy.rego"] += b"# tampered\n"
    path = write_tar(tmp_path / "b.tar.gz", bundle)
    key = _pem_file(tmp_path, rs.public)
    args = _cli(
        [
            "policy",
            "verify-bundle",
            str(path),
            "--verification-key",
            str(key),
            "--scope",
            "write",
            "--at",
            str(NOW),
        ]
    )
    assert run(args) == 1
    out = capsys.readouterr().out
    for line in (
        "validity: FAIL",
        "scope: FAIL",
        "hashes: FAIL — authz/policy.rego",
        "NOT verified: 3 of 7",
    ):
        assert line in out, out


def test_cli_hs256_secret_file_and_exclude_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hs = Signer("HS256", SECRET, SECRET)
    bundle = {**signed(hs), "README.md": b"x", "NOTES.txt": b"y"}
    path = write_dir(tmp_path / "bundle", bundle)
    secret = tmp_path / "secret"
    secret.write_text(SECRET)  # no newline: the file is read verbatim
    argv = [
        "policy",
        "verify-bundle",
        str(path),
        "--verification-key",
        str(secret),
        "--signing-alg",
        "HS256",
        "--at",
        str(NOW),
    ]
    assert run(_cli([*argv, "--exclude-files-verify", "README.md,NOTES.txt"])) == 0
    assert run(_cli([*argv, "--exclude-files-verify", "README.md"])) == 1
    assert "not covered by the signature: NOTES.txt" in capsys.readouterr().out
    secret.write_text(SECRET + "\n")
    assert (
        run(_cli([*argv, "--exclude-files-verify", "*.md", "--exclude-files-verify", "*.txt"])) == 1
    )
    assert "ends with a newline" in capsys.readouterr().out


def test_cli_refused_bundle_exits_1_with_the_reason(
    rs: Signer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_tar(tmp_path / "b.tar.gz", {**signed(rs), "../x": b"boom"}, root="")
    key = _pem_file(tmp_path, rs.public)
    assert run(_cli(["policy", "verify-bundle", str(path), "--verification-key", str(key)])) == 1
    out = capsys.readouterr().out
    assert "bundle: FAIL" in out
    assert "'../x'" in out
    assert "refused" in out


@pytest.mark.parametrize(
    ("case", "where"),
    [
        ("missing bundle", "nope.tar.gz"),
        ("missing key", "--verification-key"),
        ("PEM as HMAC secret", "--verification-key"),
        ("EC key for RS256", "--verification-key"),
        ("bad time", "--at"),
        ("bad glob", "--exclude-files-verify"),
        ("negative skew", "--max-clock-skew"),
    ],
)
def test_cli_usage_errors_are_config_errors(
    signers: dict[str, Signer], tmp_path: Path, case: str, where: str
) -> None:
    rs = signers["RS256"]
    path = write_tar(tmp_path / "b.tar.gz", signed(rs))
    key = _pem_file(tmp_path, rs.public)
    argv = ["policy", "verify-bundle", str(path), "--verification-key", str(key)]
    if case == "missing bundle":
        argv[2] = str(tmp_path / "nope.tar.gz")
    elif case == "missing key":
        argv[4] = str(tmp_path / "absent.pem")
    elif case == "PEM as HMAC secret":
        argv += ["--signing-alg", "HS256"]
    elif case == "EC key for RS256":
        argv[4] = str(_pem_file(tmp_path, signers["ES256"].public, "ec.pem"))
    elif case == "bad time":
        argv += ["--at", "yesterday"]
    elif case == "bad glob":
        argv += ["--exclude-files-verify", "[z-"]
    else:
        argv += ["--max-clock-skew", "-5"]
    with pytest.raises(ConfigError) as info:
        run(_cli(argv))
    assert where in str(info.value)


@pytest.mark.parametrize(
    ("name", "honest", "hostile"),
    [
        (
            "data.json",
            b'{"roles": {"admin": ["alice"]}}',
            b'{"roles": {"admin": [], "admin": ["alice"]}}',
        ),
        (
            ".manifest",
            b'{"revision": "r1", "roots": ["authz"]}',
            b'{"revision": "r1", "roots": ["authz"], "roots": [""]}',
        ),
        ("authz/data.json", b'{"enabled": true}', b'{"enabled": false, "enabled": true}'),
    ],
)
def test_a_signed_structured_file_with_a_duplicate_key_is_an_error(
    rs: Signer, name: str, honest: bytes, hostile: bytes
) -> None:
    """OPA would hash the last value and accept the bundle; igkit refuses it as ERROR naming
    the file and the key path. Positive control: the honest twin verifies."""
    files = {**content(), name: honest}
    assert_pass(verify(signed(rs, files), rs))
    files[name] = hostile
    checks = verify(signed(rs, files), rs)
    bad = assert_not_pass(checks, "hashes", name, "duplicate key")
    assert bad.status is Status.ERROR


def test_a_signatures_file_with_a_duplicate_key_is_refused(rs: Signer) -> None:
    files = signed(rs)
    assert_pass(verify(files, rs))
    token = json.loads(files[".signatures.json"])["signatures"][0]
    files[".signatures.json"] = b'{"signatures": ["' + token.encode() + b'"], "signatures": []}'
    checks = verify(files, rs)
    assert_not_pass(checks, "signatures file", "duplicate key 'signatures' in (top level)")
