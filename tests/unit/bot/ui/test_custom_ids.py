"""One registry of custom_ids: each kind once, no two kinds that one id could match."""

from __future__ import annotations

import pytest

import bot.ui.forms
import bot.ui.history
import bot.ui.job_views
import bot.ui.privacy
import bot.ui.review
import bot.ui.settings
from bot.ui.custom_ids import REGISTRY, CustomIdClash, Registry, digit, flag, snowflake
from inference.operations import OPERATIONS


def test_a_prefix_registered_twice_raises_at_once():
    registry = Registry()
    registry.register("pd", digit("index", 4), snowflake("job"))
    with pytest.raises(CustomIdClash, match="registered twice"):
        registry.register("pd", snowflake("user"), flag("go"))


def test_a_prefix_that_is_not_a_plain_word_is_refused():
    with pytest.raises(CustomIdClash):
        Registry().register("p:d", snowflake("job"))
    with pytest.raises(CustomIdClash):
        Registry().register("toolong", snowflake("job"))


def test_a_template_too_long_for_discord_is_refused():
    fields = [snowflake(f"id{n}") for n in range(5)]
    with pytest.raises(CustomIdClash, match="100 characters"):
        Registry().register("big", *fields)


@pytest.mark.parametrize("job", [0, 1, 42, 10**19])
def test_pan_down_ids_are_claimed_by_pan_down_alone(job):
    # Pan Down's `ib:pd:<index>:<job>` once also matched /privacy delete's template when
    # the job id was 0 or 1, and registration order decided which handler ran.
    [claim] = REGISTRY.claims(bot.ui.job_views.OPERATION_IDS["pd"].make(1, job))
    assert claim.prefix == "pd"
    [erase] = REGISTRY.claims(bot.ui.privacy.ERASE.make(job, job % 2 == 0))
    assert erase.prefix == "er"


def test_every_registered_kind_claims_its_own_ids_and_no_other():
    kinds = list(REGISTRY)
    assert len(kinds) >= len(OPERATIONS) + 10
    for kind in kinds:
        for example in kind.examples():
            assert [k.prefix for k in REGISTRY.claims(example)] == [kind.prefix], example
            assert len(example) <= 100


def test_every_operation_has_a_button_and_remix_forms_exist_for_remix_operations():
    assert set(bot.ui.job_views.OPERATION_IDS) == {op.key for op in OPERATIONS}
    remix = {op.key for op in OPERATIONS if op.remix}
    for key in remix:
        assert bot.ui.forms.REMIX.parse(bot.ui.forms.REMIX.make(key, 1, 7)) is not None
    for op in OPERATIONS:
        if op.key not in remix:
            assert bot.ui.forms.REMIX.parse(f"ib:rm:{op.key}:1:7") is None
