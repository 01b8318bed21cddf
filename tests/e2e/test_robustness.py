"""Discord misbehaving while a job runs: rate limits on edits, a dropped gateway, and how
many REST calls a job costs."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from itertools import pairwise

from inference.presets import PRESETS


async def _slow(monkeypatch, steps: int) -> None:
    monkeypatch.setitem(PRESETS, "tiny", replace(PRESETS["tiny"], default_steps=steps))


async def _imagine(world, prompt: str):
    inter = await world.fake.slash(world.alice, world.channel, "imagine", prompt=prompt)
    assert await inter.wait_for_response() == 4
    return inter


async def _done(fake, message) -> None:
    await fake.wait_for(
        lambda: message.attachments and message.components and "Cancel" not in message.buttons(),
        timeout=90,
    )


async def test_a_429_on_an_edit_delays_the_job_message_but_loses_nothing(
    world, runner, monkeypatch
):
    fake = world.fake
    await _slow(monkeypatch, 40)
    fake.inject_429("PATCH", r"/webhooks/.*/messages/", count=2, retry_after=0.3)
    await runner.start()
    inter = await _imagine(world, "a patient fox --seed 3")
    await _done(fake, inter.original)
    statuses = [r.status for r in fake.rest_calls() if r.method == "PATCH"]
    assert statuses.count(429) == 2 and statuses[-1] == 200
    assert inter.original.content == f"**a patient fox --seed 3** - <@{world.alice.id}>"


async def test_a_gateway_drop_during_a_job_is_resumed_and_nothing_is_missed(
    world, runner, monkeypatch
):
    fake = world.fake
    await _slow(monkeypatch, 400)  # a few seconds even with a warm model: progress shows
    bot = await runner.start()
    inter = await _imagine(world, "a fox in a storm --seed 4")
    await fake.wait_for(lambda: re.search(r"\(\d+%\)$", inter.original.content), timeout=60)
    await fake.drop_gateway()
    # An interaction that arrives around the reconnect is still answered.
    second = await fake.slash(world.bob, world.channel, "imagine", prompt="a calm fox --seed 5")
    assert await second.wait_for_response(timeout=30) == 4
    await _done(fake, inter.original)
    await _done(fake, second.original)
    assert bot.is_ready()


async def test_a_twenty_step_grid_costs_at_most_ten_rest_calls_besides_its_upload(
    world, runner, monkeypatch
):
    fake = world.fake
    await _slow(monkeypatch, 20)
    await runner.start()
    since = fake.clock.now()
    inter = await _imagine(world, "a counted fox --seed 6")
    await _done(fake, inter.original)
    calls = fake.rest_calls(since)
    uploads = [c for c in calls if c.method == "PATCH"][-1:]  # the result carries the file
    others = [c for c in calls if c not in uploads]
    assert len(others) <= 10, [(c.method, c.path) for c in others]
    edits = [c for c in calls if c.method == "PATCH"]
    assert all(b.time - a.time >= 0.9 for a, b in pairwise(edits))  # the result too


async def test_slow_work_is_deferred_inside_three_seconds_then_answered(world, runner):
    import asyncio

    fake, alice = world.fake, world.alice
    bot = await runner.start()
    real_imagine, real_child = bot.services.imagine.imagine, bot.services.children.child

    async def slow_imagine(*args, **kwargs):
        await asyncio.sleep(2.5)  # a database under load
        return await real_imagine(*args, **kwargs)

    async def slow_child(*args, **kwargs):
        await asyncio.sleep(2.5)
        return await real_child(*args, **kwargs)

    bot.services.imagine.imagine, bot.services.children.child = slow_imagine, slow_child
    inter = await fake.slash(alice, world.channel, "imagine", prompt="a patient owl --seed 2")
    assert await inter.wait_for_response(timeout=5) == 5  # "thinking", in time
    await _done(fake, inter.original)  # the same message became the job, then its grid
    assert inter.original.content == f"**a patient owl --seed 2** - <@{alice.id}>"

    pressed = await fake.click(alice, inter.original, inter.original.button("V1"))
    assert await pressed.wait_for_response(timeout=5) == 6
    await fake.wait_for(lambda: pressed.followups, timeout=30)
    await _done(fake, pressed.followups[0])
    assert "Variations (Strong) by" in pressed.followups[0].content

    refused = await fake.slash(alice, world.channel, "imagine", prompt="a fox --chaos 900")
    assert await refused.wait_for_response(timeout=5) == 5
    await fake.wait_for(lambda: refused.followups, timeout=30)
    assert refused.followups[0].ephemeral
    assert refused.followups[0].embeds[0]["title"] == "Invalid parameter"
    await fake.wait_for(lambda: refused.original.deleted, timeout=10)  # no public leftover
    assert not refused.original.embeds  # and the error never showed in public


async def test_a_result_that_cannot_be_posted_never_holds_up_the_others(world, runner, monkeypatch):
    import bot.delivery.posting as posting
    import bot.delivery.updates as updates

    fake = world.fake
    real_upload = posting.result_upload

    def upload(store, job):
        if "broken" in job.prompt:
            raise OSError("cannot identify image file")  # as Pillow raises on a bad file
        return real_upload(store, job)

    monkeypatch.setattr(posting, "result_upload", upload)
    monkeypatch.setattr(updates, "RETRY_BASE_S", 0.05)
    await runner.start()
    broken = await _imagine(world, "a broken fox --seed 1")
    fine = await _imagine(world, "a fine fox --seed 2")
    await _done(fake, fine.original)  # posted although the first keeps failing
    await fake.wait_for(
        lambda: (
            broken.original.embeds
            and broken.original.embeds[0]["title"] == "Your result could not be posted"
        ),
        timeout=60,
    )
    assert "/show" in broken.original.embeds[0]["description"]
    later = await _imagine(world, "a later fox --seed 3")
    await _done(fake, later.original)  # the sweep goes on after giving up


async def test_a_deleted_channel_costs_a_few_requests_and_its_member_one_dm(world, runner):
    fake, alice = world.fake, world.alice
    doomed = fake.add_channel(world.guild, "doomed")
    bot = await runner.start(run_worker=False)
    waiting = []
    for n in range(3):
        inter = await fake.slash(alice, doomed, "imagine", prompt=f"a lost fox {n} --seed {n}")
        assert await inter.wait_for_response() == 4
        waiting.append(inter)
    fake.delete_channel(doomed)
    await runner.stop(bot)
    before = len(fake.requests)
    bot = await runner.start()  # the worker renders all three; none can be posted
    elsewhere = await _imagine(world, "a fox that arrives --seed 9")
    await _done(fake, elsewhere.original)
    jobs = bot.services.jobs
    ids = [j.id for j in await jobs.for_user(alice.id)]
    await fake.wait_for(lambda: len(fake.messages(fake.dm_channel(alice))) == 1, timeout=90)
    channel_path = f"/channels/{doomed.id}/"
    for _ in range(30):  # every result is given up for good, with why
        rows = [await jobs.get(i) for i in ids]
        if all(r.delivered_at is not None for r in rows):
            break
        await asyncio.sleep(0.5)
    lost = [r for r in rows if r.channel_id == doomed.id]
    assert len(lost) == 3 and all(r.delivery_error == "its channel no longer exists" for r in lost)
    doomed_calls = [
        r
        for r in fake.requests[before:]
        if channel_path in r.path or any(str(i.token) in r.path for i in waiting)
    ]
    assert len(doomed_calls) <= 4, [(r.method, r.path, r.status) for r in doomed_calls]
    [dm] = fake.messages(fake.dm_channel(alice))
    assert "could not be posted: its channel no longer exists" in dm.content
    assert "/show" in dm.content


async def test_results_wait_while_the_invalid_request_budget_is_spent(world, runner):
    import time

    fake = world.fake
    runner.settings.invalid_request_budget = 5
    bot = await runner.start()
    for _ in range(5):  # as if five 403s had come back in the last ten minutes
        bot.delivery.invalid.record(time.monotonic())
    inter = await _imagine(world, "a fox that waits its turn --seed 6")
    [job] = await bot.services.jobs.for_user(world.alice.id)
    for _ in range(60):
        if (await bot.services.jobs.get(job.id)).state == "done":
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(2.5)  # sweeps ran meanwhile, and held
    assert (
        not inter.original.attachments
        and (await bot.services.jobs.get(job.id)).delivered_at is None
    )
    bot.delivery.invalid.window_s = 0.0  # the window has passed
    bot.delivery.notify()
    await _done(fake, inter.original)
