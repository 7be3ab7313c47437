"""Signed, expiring acknowledge/resolve links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerting.ack import AckError, action_url, make_token, verify_token

NOW = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)
TTL = timedelta(hours=24)


def test_a_token_round_trips_until_it_expires() -> None:
    token = make_token("s3cret", 42, "acknowledge", NOW, TTL)
    claim = verify_token("s3cret", token, NOW + timedelta(hours=23))
    assert (claim.incident_id, claim.action) == (42, "acknowledge")
    with pytest.raises(AckError, match="expired"):
        verify_token("s3cret", token, NOW + TTL)


def test_a_forged_or_altered_token_is_refused() -> None:
    token = make_token("s3cret", 42, "acknowledge", NOW, TTL)
    with pytest.raises(AckError, match="bad signature"):
        verify_token("other", token, NOW)
    other = make_token("s3cret", 43, "resolve", NOW, TTL)
    swapped = other.split(".")[0] + "." + token.split(".")[1]  # someone else's payload, this signature
    with pytest.raises(AckError, match="bad signature"):
        verify_token("s3cret", swapped, NOW)
    for junk in ("", "abc", "abc.", ".sig"):
        with pytest.raises(AckError):
            verify_token("s3cret", junk, NOW)


def test_without_a_secret_no_link_can_be_made_or_accepted() -> None:
    with pytest.raises(AckError, match="LC_SECRET_KEY"):
        make_token("", 1, "resolve", NOW, TTL)
    with pytest.raises(ValueError, match="action"):
        make_token("s", 1, "delete", NOW, TTL)


def test_action_url_points_at_the_console() -> None:
    url = action_url("http://console.example/", "a.b")
    assert url == "http://console.example/oncall/alerts/act?token=a.b"
