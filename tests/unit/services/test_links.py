"""Signed web links: what a link grants survives the round trip; any change to it, another
deployment's secret or the passing of its expiry refuses it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.links import Grant, LinkRefused, Links

SECRET = "sixteen or more characters"


def _links(now: float = 1_000_000.0, ttl: float = 3600, secret: str = SECRET) -> Links:
    return Links(secret, "https://imagine.example.org/", ttl, clock=lambda: now)


def test_a_grant_round_trips_and_names_the_member_the_server_and_the_job():
    links = _links()
    grant = links.grant(42, 7, job=9)
    assert grant == Grant(42, 7, 9, 1_000_000, 1_003_600)
    assert links.check(links.token(grant)) == grant
    assert links.check(links.token(links.grant(42, None))).guild is None
    url = links.job_url(9, grant)
    assert url.startswith("https://imagine.example.org/jobs/9?t=")


@given(
    st.integers(0, 200),
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
)
def test_changing_any_character_of_a_link_refuses_it(position, replacement):
    links = _links()
    token = links.token(links.grant(42, 7))
    position %= len(token)
    if token[position] in (replacement, "."):
        return
    changed = token[:position] + replacement + token[position + 1 :]
    try:
        grant = links.check(changed)
    except LinkRefused:
        return
    # base64's last character can carry unused bits: then the bytes, and the grant, are equal
    assert grant == links.check(token)


def test_another_deployments_link_and_an_expired_one_are_refused():
    token = _links().token(_links().grant(42, 7))
    with pytest.raises(LinkRefused, match="not valid"):
        _links(secret="another sixteen character secret").check(token)
    with pytest.raises(LinkRefused, match="expired"):
        _links(now=1_003_600.0).check(token)
    assert _links(now=1_003_599.0).check(token).member == 42
    for broken in ("", ".", "abc", "a.b.c", token.split(".")[0]):
        with pytest.raises(LinkRefused):
            _links().check(broken)


def test_a_short_secret_is_refused_at_start():
    with pytest.raises(ValueError, match="16 characters"):
        Links("short", "https://x")
