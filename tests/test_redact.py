"""Configured secrets (and the encodings a server may echo) never survive redaction."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from igkit.errors import ConfigError
from igkit.redact import MARK, check_secret_lengths, redact, redact_data, secrets

ENV = {
    "IGKIT_PROM_TOKEN": "t0k3n/with+chars",
    "IGKIT_PROM_USERNAME": "alice",
    "IGKIT_PROM_PASSWORD": "s3cret!",
}


def test_every_form_of_every_secret_is_redacted() -> None:
    found = secrets(ENV)
    basic = base64.b64encode(b"alice:s3cret!").decode()
    echoed = f"401: bad token t0k3n/with+chars (t0k3n%2Fwith%2Bchars), Authorization: Basic {basic}"
    out = redact(echoed, found)
    assert "t0k3n" not in out
    assert basic not in out
    assert out.count(MARK) == 3
    assert redact("nothing secret here", found) == "nothing secret here"  # positive control


def test_redact_data_keeps_json_shape() -> None:
    found = secrets({"IGKIT_PROM_TOKEN": 'quo"te\\s'})
    assert redact_data({"k": ['x quo"te\\s y'], 'quo"te\\s': 1}, found) == {
        "k": [f"x {MARK} y"],
        MARK: 1,
    }


def test_too_short_secrets_are_refused() -> None:
    with pytest.raises(ConfigError, match="IGKIT_PROM_PASSWORD"):
        check_secret_lengths({"IGKIT_PROM_PASSWORD": "abc"})
    check_secret_lengths(ENV)  # positive control


@pytest.mark.property
@given(
    st.text(st.characters(exclude_characters="[]REDACT"), min_size=4, max_size=40),
    st.text(max_size=60),
    st.text(max_size=60),
)
def test_a_secret_never_survives(secret: str, before: str, after: str) -> None:
    """(Secrets made of the marker's own letters are left out: they could re-form in it.)"""
    found = secrets({"IGKIT_PROM_TOKEN": secret})
    assert secret not in redact(before + secret + after, found)
