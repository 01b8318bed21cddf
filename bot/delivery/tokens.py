"""The interaction token: what can edit an answer through its webhook, for 15 minutes."""

from __future__ import annotations

from datetime import datetime, timedelta

TOKEN_LIFETIME = timedelta(minutes=15)
# Edits stop using the token this long before it expires: one sent at the edge would fail.
MARGIN = timedelta(seconds=30)


def token_expiry(created: datetime) -> datetime:
    """When an interaction made at `created` stops being editable through its token."""
    return created + TOKEN_LIFETIME - MARGIN
