"""Appeals, the review queue, strikes and moderator commands, through real discord.py."""

from __future__ import annotations

import pytest


async def _run(world, user, /, *path, **options):
    inter = await world.fake.slash(user, world.channel, *path, **options)
    await inter.wait_for_response()
    return inter


@pytest.fixture
def review(world):
    return world.fake.add_channel(world.guild, "mod-review")


async def _blocked(world, user, prompt="a nude woman"):
    inter = await _run(world, user, "imagine", prompt=prompt)
    assert inter.ephemeral and inter.original.embeds[0]["title"] == "Banned prompt detected"
    return inter


async def _appeal(world, user, review):
    blocked = await _blocked(world, user)
    click = await world.fake.click(user, blocked.original, blocked.original.button("Appeal"))
    await click.wait_for_response()
    assert click.ephemeral and "sent to the moderators" in click.original.content
    return world.fake.messages(review)[-1]


async def test_approved_appeal_runs_the_prompt_and_tells_the_user(world, runner, review):
    fake, alice, mod = world.fake, world.alice, world.mod
    bot = await runner.start()
    await _run(world, mod, "mod", "setup", review_channel=review)
    card = await _appeal(world, alice, review)
    assert card.embeds[0]["title"].startswith("Appeal #")
    assert "a nude woman" in card.embeds[0]["fields"][0]["value"]

    outsider = await fake.click(world.bob, card, card.button("Approve"))
    await outsider.wait_for_response()
    assert outsider.original.embeds[0]["title"] == "Moderators only"

    approve = await fake.click(mod, card, card.button("Approve"))
    assert await approve.wait_for_response() == 7
    assert "approved" in card.embeds[0]["title"] and not card.components
    dm = fake.dm_channel(alice)
    await fake.wait_for(lambda: fake.messages(dm))
    assert "approved" in fake.messages(dm)[-1].content
    job_message = await fake.wait_for(
        lambda: next((m for m in fake.messages(world.channel) if m.attachments), None), timeout=60
    )
    assert job_message.content == f"**a nude woman** - <@{alice.id}>"
    actions = [r.action for r in await bot.services.audit.for_member(world.guild.id, alice.id)]
    assert actions == ["prompt_blocked", "appeal_filed", "appeal_approved"]

    again = await fake.click(mod, card, card.button("Approve")) if card.components else None
    assert again is None  # decided appeals lose their buttons


async def test_upheld_appeals_escalate_from_warning_to_time_out(world, runner, review):
    fake, alice, mod = world.fake, world.alice, world.mod
    await runner.start()
    await _run(world, mod, "mod", "setup", review_channel=review)
    dm = fake.dm_channel(alice)
    for expected in (
        "strike 1, which means a warning",
        "strike 2, which means a time-out of 1 hour",
    ):
        card = await _appeal(world, alice, review)
        uphold = await fake.click(mod, card, card.button("Uphold"))
        await uphold.wait_for_response()
        await fake.wait_for(
            lambda expected=expected: any(expected in m.content for m in fake.messages(dm))
        )
    refused = await _run(world, alice, "imagine", prompt="a cat")
    assert refused.original.embeds[0]["title"] == "You are banned from generating here"
    strikes = await _run(world, mod, "mod", "strikes", user=alice)
    assert "2 strike(s)" in strikes.original.content and "timed out" in strikes.original.content


async def test_ban_from_review_and_unban(world, runner, review):
    fake, alice, mod = world.fake, world.alice, world.mod
    await runner.start()
    await _run(world, mod, "mod", "setup", review_channel=review)
    card = await _appeal(world, alice, review)
    await (await fake.click(mod, card, card.button("Ban"))).wait_for_response()
    refused = await _run(world, alice, "imagine", prompt="a cat")
    assert refused.ephemeral
    await _run(world, mod, "mod", "unban", user=alice)
    allowed = await _run(world, alice, "imagine", prompt="a cat")
    assert not allowed.ephemeral


async def test_zero_tolerance_has_no_appeal_and_alerts_moderators(world, runner, review):
    fake, alice, mod = world.fake, world.alice, world.mod
    await runner.start()
    await _run(world, mod, "mod", "setup", review_channel=review)
    blocked = await _blocked(world, alice, "naked child")
    assert blocked.original.buttons() == {}
    alert = await fake.wait_for(lambda: fake.messages(review))
    assert alert[-1].embeds[0]["title"] == "Zero-tolerance prompt blocked"


async def test_appeal_without_a_review_channel_explains_what_to_do(world, runner):
    await runner.start()
    blocked = await _blocked(world, world.alice)
    click = await world.fake.click(world.alice, blocked.original, blocked.original.button("Appeal"))
    await click.wait_for_response()
    embed = click.original.embeds[0]
    assert embed["title"] == "Appeal not sent" and "/mod setup" in embed["fields"][0]["value"]


async def test_guild_terms_block_and_allow(world, runner):
    alice, mod = world.alice, world.mod
    await runner.start()
    await _run(world, mod, "mod", "terms", "add", term="pineapple pizza", category="illegal")
    blocked = await _run(world, alice, "imagine", prompt="a pineapple pizza party")
    assert blocked.original.embeds[0]["title"] == "Banned prompt detected"
    await _run(world, mod, "mod", "terms", "allow", term="lingerie")
    allowed = await _run(world, alice, "imagine", prompt="a lingerie shop window")
    assert not allowed.ephemeral
    listed = await _run(world, mod, "mod", "terms", "list")
    assert "`pineapple pizza` (illegal)" in listed.original.content
    await _run(world, mod, "mod", "terms", "remove", term="pineapple pizza")
    after = await _run(world, alice, "imagine", prompt="a pineapple pizza party")
    assert not after.ephemeral


async def test_mod_test_judges_a_prompt_with_this_servers_terms_and_records_nothing(world, runner):
    mod = world.mod
    bot = await runner.start()
    await _run(world, mod, "mod", "terms", "add", term="pineapple pizza", category="illegal")
    judged = await _run(world, mod, "mod", "test", prompt="a pineapple pizza party")
    assert judged.ephemeral
    text = judged.original.content
    assert "**Blocked** by the terms layer, rule **illegal** (can be appealed)" in text
    assert "pineapple pizza" in text
    zero = await _run(world, mod, "mod", "test", prompt="a n\u202eaked 👧")
    assert "rule **minors** (zero tolerance, no appeal)" in zero.original.content
    fine = await _run(world, mod, "mod", "test", prompt="a red fox in the snow")
    assert fine.original.content.startswith("**Allowed**")
    records = await bot.services.audit.for_member(world.guild.id, mod.id)
    assert not [r for r in records if r.action == "prompt_blocked"]
    refused = await _run(world, world.alice, "mod", "test", prompt="anything")
    assert "moderator" in refused.original.embeds[0]["description"].lower()


async def test_a_member_whose_prompts_keep_being_blocked_gets_a_strike_and_moderators_hear(
    world, runner, review
):
    runner.settings = runner.settings.model_copy(update={"block_strike_count": 2})
    await runner.start()
    await _run(world, world.mod, "mod", "setup", review_channel=review)
    first = await _blocked(world, world.alice)
    assert "strike" not in first.original.embeds[0]["fields"][0]["value"]
    second = await _blocked(world, world.alice, "a topless model")
    hint = second.original.embeds[0]["fields"][0]["value"]
    assert hint.startswith("You had 2 prompts blocked within 1 h: this is strike 1")
    alert = await world.fake.wait_for(lambda: world.fake.messages(review))
    assert alert[-1].embeds[0]["title"] == "Repeated blocked prompts"
    assert f"<@{world.alice.id}>" in alert[-1].embeds[0]["description"]


async def test_the_term_lists_are_compiled_at_start_not_on_the_first_prompt(world, runner):
    from moderation import check

    check.rules.cache_clear()
    check._compiled.cache_clear()
    bot = await runner.start()
    assert check._compiled.cache_info().currsize >= 10  # every list, built off the loop
    assert check.rules.cache_info().currsize == 1
    assert bot.is_ready()


async def test_timeout_command_and_bad_duration(world, runner):
    alice, mod = world.alice, world.mod
    await runner.start()
    bad = await _run(world, mod, "mod", "timeout", user=alice, duration="soon", reason="spam")
    assert "30m, 1h or 7d" in bad.original.embeds[0]["description"]
    ok = await _run(world, mod, "mod", "timeout", user=alice, duration="30m", reason="spam")
    assert "30 minutes" in ok.original.content
    banned = await _run(world, mod, "mod", "ban", user=world.bob, reason="spam", duration="2d")
    assert "for 2 days" in banned.original.content
    refused = await _run(world, alice, "imagine", prompt="a cat")
    assert refused.ephemeral
    world.fake.advance(0)  # time-outs end by the bot's clock: covered in the repository tests


async def test_a_slow_mod_command_is_deferred_privately_in_time_then_answered(world, runner):
    import asyncio

    fake, mod = world.fake, world.mod
    bot = await runner.start()
    real_count = bot.services.audit.count

    async def slow_count(*args, **kwargs):
        await asyncio.sleep(2.5)  # a database under load
        return await real_count(*args, **kwargs)

    bot.services.audit.count = slow_count
    inter = await fake.slash(mod, world.channel, "mod", "strikes", user=world.alice)
    assert await inter.wait_for_response(timeout=5) == 5  # "thinking", inside the 3 s
    assert inter.original.ephemeral  # and only the moderator sees it
    answer = inter.original  # which then becomes the answer: one edit, nothing more
    await fake.wait_for(lambda: "strike" in answer.content, timeout=30)
    assert answer.ephemeral and "0 strike(s) and is not restricted" in answer.content
    await asyncio.sleep(0.5)  # time for any further call on this interaction to arrive
    writes = [
        c.method
        for c in fake.rest_calls()
        if f"/webhooks/{fake.application_id}/{inter.token}" in c.path and c.method != "GET"
    ]
    assert writes == ["PATCH"]  # the one edit: no followup, no deletion
    assert not answer.deleted
    assert "strike" not in " ".join(m.content for m in fake.messages(world.channel))

    bot.services.audit.count = real_count
    quick = await _run(world, mod, "mod", "strikes", user=world.bob)  # fast: answered at once
    assert quick.response_type == 4 and quick.ephemeral


@pytest.mark.parametrize(
    ("path", "options"),
    [
        (("mod", "ban"), {"reason": "x"}),
        (("mod", "unban"), {}),
        (("mod", "timeout"), {"duration": "1h", "reason": "x"}),
        (("mod", "strikes"), {}),
        (("mod", "audit"), {}),
        (("mod", "review"), None),
        (("mod", "terms", "add"), {"term": "x", "category": "hate"}),
        (("mod", "terms", "list"), None),
        (("mod", "queue", "pause"), None),
        (("mod", "queue", "resume"), None),
    ],
    ids=[
        "ban",
        "unban",
        "timeout",
        "strikes",
        "audit",
        "review",
        "terms-add",
        "terms-list",
        "queue-pause",
        "queue-resume",
    ],
)
async def test_members_without_the_permission_cannot_use_mod_commands(world, runner, path, options):
    await runner.start()
    kwargs = {} if options is None else {"user": world.bob, **options}
    denied = await _run(world, world.alice, *path, **kwargs)
    assert denied.ephemeral and denied.original.embeds[0]["title"] == "Moderators only"


async def test_results_flagged_by_the_output_filter_are_withheld_and_sent_to_review(
    world, runner, review
):
    fake, alice, mod = world.fake, world.alice, world.mod
    bot = await runner.start(output_filter=lambda image: "test-filter: flagged")
    await _run(world, mod, "mod", "setup", review_channel=review)
    inter = await _run(world, alice, "imagine", prompt="a harmless fox")
    message = inter.original
    await fake.wait_for(lambda: message.embeds, timeout=60)
    assert message.embeds[0]["title"] == "Job failed"
    assert "output filters" in message.embeds[0]["description"]
    assert not message.attachments and not message.components
    alert = await fake.wait_for(lambda: fake.messages(review))
    assert alert[-1].embeds[0]["title"] == "Result withheld by output filters"
    actions = [r.action for r in await bot.services.audit.for_member(world.guild.id, alice.id)]
    assert actions == ["output_filtered"]
    [job] = await bot.services.jobs.for_user(alice.id)
    audit = await _run(world, mod, "mod", "audit", job_id=job.id)
    assert (
        f"Job #{job.id}" in audit.original.content and "output_filtered" in audit.original.content
    )


async def test_a_paused_queue_holds_jobs_until_resumed_and_moderators_cancel_any_job(world, runner):
    fake, alice, bob, mod = world.fake, world.alice, world.bob, world.mod
    bot = await runner.start()
    paused = await _run(world, mod, "mod", "queue", "pause", reason="maintenance")
    assert paused.ephemeral and "paused: 0 waiting job(s)" in paused.original.content

    held = (await _run(world, alice, "imagine", prompt="a fox that waits")).original
    await fake.wait_for(
        lambda: held.content.endswith("(Waiting to start, queue paused by moderators)")
    )
    doomed = (await _run(world, bob, "imagine", prompt="an owl never drawn")).original
    await fake.wait_for(lambda: "queue paused" in doomed.content)
    [owl] = await bot.services.jobs.for_user(bob.id)

    member = await _run(world, alice, "mod", "queue", "cancel", job_id=owl.id)
    assert member.original.embeds[0]["title"] == "Moderators only"
    stopped = await _run(world, mod, "mod", "queue", "cancel", job_id=owl.id, reason="test")
    assert stopped.original.content == f"Cancelled job #{owl.id} by <@{bob.id}>."
    await fake.wait_for(lambda: doomed.content.endswith("(Cancelled)"))
    again = await _run(world, mod, "mod", "queue", "cancel", job_id=owl.id)
    assert "already finished" in again.original.embeds[0]["description"]
    nowhere = await _run(world, mod, "mod", "queue", "cancel", job_id=owl.id + 1000)
    assert f"no job {owl.id + 1000} on this server" in nowhere.original.embeds[0]["description"]
    [fox] = await bot.services.jobs.for_user(alice.id)
    assert fox.state == "queued"  # nothing started while paused

    resumed = await _run(world, mod, "mod", "queue", "resume")
    assert "running again: 1 waiting" in resumed.original.content
    await fake.wait_for(lambda: held.attachments, timeout=60)
    guild_records = await bot.services.audit.for_member(world.guild.id, None)  # no member targeted
    assert [(r.action, r.reason) for r in guild_records] == [
        ("queue_paused", "maintenance"),
        ("queue_resumed", ""),
    ]
    [cancel] = await bot.services.audit.for_job(world.guild.id, owl.id)
    assert (cancel.action, cancel.actor_id, cancel.reason) == ("job_cancelled", mod.id, "test")


async def test_a_server_sets_its_own_waiting_limit(world, runner):
    alice, mod = world.alice, world.mod
    await runner.start(run_worker=False)  # nothing starts: jobs wait
    setup = await _run(world, mod, "mod", "setup", max_queued=1)
    assert "1 waiting" in setup.original.content
    first = await _run(world, alice, "imagine", prompt="a patient fox")
    assert not first.ephemeral
    second = await _run(world, alice, "imagine", prompt="an impatient fox")
    embed = second.original.embeds[0]
    assert embed["title"] == "Queue full" and "the limit is 1" in embed["description"]
    reset = await _run(world, mod, "mod", "setup", max_queued=0)
    assert f"{runner.settings.max_queued_jobs} waiting" in reset.original.content
    third = await _run(world, alice, "imagine", prompt="a fox let in")
    assert not third.ephemeral


async def test_a_channel_overwrite_does_not_make_a_moderator(world, runner, review):
    from testing.fakediscord.model import MANAGE_MESSAGES

    fake, alice, bob = world.fake, world.alice, world.bob
    fake.allow_in_channel(review, bob, MANAGE_MESSAGES)  # Manage Messages here, not in the server
    fake.allow_in_channel(world.channel, bob, MANAGE_MESSAGES)
    await runner.start()
    await _run(world, world.mod, "mod", "setup", review_channel=review)
    card = await _appeal(world, alice, review)
    press = await fake.click(bob, card, card.button("Approve"))
    await press.wait_for_response()
    assert press.ephemeral and press.original.embeds[0]["title"] == "Moderators only"
    ban = await _run(world, bob, "mod", "ban", user=alice, reason="spam")
    assert ban.ephemeral and ban.original.embeds[0]["title"] == "Moderators only"
