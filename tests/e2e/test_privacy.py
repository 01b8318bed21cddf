"""/privacy export and /privacy delete, and the purge of deleted jobs' files."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from datetime import timedelta

from db.models import utcnow
from services.privacy import build_export


async def _run(world, user, /, *path, **options):
    inter = await world.fake.slash(user, world.channel, *path, **options)
    await inter.wait_for_response()
    return inter


async def _grid(world, user, prompt):
    inter = await _run(world, user, "imagine", prompt=prompt)
    await world.fake.wait_for(lambda: inter.original.attachments, timeout=60)
    return inter.original


async def test_export_is_a_private_zip_of_jobs_and_images(world, runner):
    await runner.start()
    await _grid(world, world.alice, "a fox to export --seed 3")
    export = await _run(world, world.alice, "privacy", "export")
    message = export.original  # the private "thinking" message becomes the answer
    await world.fake.wait_for(lambda: message.attachments)
    assert message.ephemeral and not export.followups
    archive = zipfile.ZipFile(io.BytesIO(message.attachments[0].data))
    [record] = json.loads(archive.read("jobs.json"))
    assert record["prompt"] == "a fox to export --seed 3" and record["seeds"] == [3, 4, 5, 6]
    names = [f["file"] for f in record["images"]]
    assert len(names) == 5 and all(name in archive.namelist() for name in names)


async def test_export_stays_within_the_upload_limit_and_says_what_it_left_out(world, runner):
    bot = await runner.start()
    await _grid(world, world.alice, "fox one")
    await _grid(world, world.alice, "fox two")
    jobs = list(await bot.services.jobs.for_user(world.alice.id))
    one_image = len(bot.services.store.get(jobs[0].images[1].sha256, "png"))
    limit = 64 * 1024 + 3 * one_image + 2048
    data = build_export(jobs, bot.services.store, limit=limit)
    records = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("jobs.json"))
    omitted = [f for r in records for f in r["images"] if "omitted" in f]
    assert len(data) <= limit and omitted


async def test_delete_erases_jobs_after_confirmation_and_files_after_the_grace(world, runner):
    fake, alice = world.fake, world.alice
    bot = await runner.start()
    await _grid(world, alice, "a fox to forget")
    [job] = await bot.services.jobs.for_user(alice.id)
    files = [bot.services.store.path(i.sha256, i.format) for i in job.images]
    ask = await _run(world, alice, "privacy", "delete")
    assert ask.ephemeral and list(ask.original.buttons()) == ["Erase everything", "Keep my data"]
    stranger = await fake.click(world.bob, ask.original, ask.original.button("Erase everything"))
    await stranger.wait_for_response()
    assert stranger.original.embeds[0]["title"] == "Not your job"
    erase = await fake.click(alice, ask.original, ask.original.button("Erase everything"))
    await erase.wait_for_response()
    assert "Erased 1 jobs" in ask.original.content
    history = await _run(world, alice, "history")
    assert "no jobs" in history.original.content
    assert all(f.exists() for f in files)  # still within the grace period
    assert await bot.services.maintenance.purge_deleted(utcnow() + timedelta(seconds=1)) == len(
        set(files)
    )
    assert not any(f.exists() for f in files)
    actions = [r.action for r in await bot.services.audit.for_member(world.guild.id, alice.id)]
    assert actions == ["privacy_delete"]


async def test_previews_left_by_a_dead_worker_are_purged_but_not_those_shown(world, runner):
    from db import PREVIEW_FORMAT, NewJob, WorkerJobs

    bot = await runner.start(run_worker=False)  # nothing renders: the job stays as we set it
    job, _ = await bot.services.jobs.create(
        NewJob(
            idempotency_key="preview:0", user_id=world.alice.id, channel_id=world.channel.id,
            guild_id=world.guild.id, prompt="a fox", request={}, model="tiny", action="imagine",
        )
    )  # fmt: skip
    shown, orphan = (bot.services.store.put(data, PREVIEW_FORMAT) for data in (b"shown", b"orphan"))
    assert (await WorkerJobs(bot.services.sessions).claim_next("a-worker-that-dies")).id == job.id
    await WorkerJobs(bot.services.sessions).set_progress(job.id, 50, shown)
    assert await bot.services.maintenance.purge_previews(older_than_s=600) == 0  # both are new
    an_hour_ago = time.time() - 3600
    for digest in (shown, orphan):
        os.utime(bot.services.store.path(digest, PREVIEW_FORMAT), (an_hour_ago, an_hour_ago))
    assert await bot.services.maintenance.purge_previews(older_than_s=600) == 1
    assert bot.services.store.path(shown, PREVIEW_FORMAT).exists()
    assert not bot.services.store.path(orphan, PREVIEW_FORMAT).exists()


async def test_delete_stops_waiting_jobs_and_leaves_no_copy_of_the_prompts(world, runner):
    import asyncio

    fake, alice = world.fake, world.alice
    review = fake.add_channel(world.guild, "mod-review")
    bot = await runner.start()
    await _run(world, world.mod, "mod", "setup", review_channel=review)
    grid = await _grid(world, alice, "a secret fox --seed 1")
    await runner.stop(bot)
    bot = await runner.start(run_worker=False)
    waiting = await _run(world, alice, "imagine", prompt="a secret owl that waits")
    blocked = await _run(world, alice, "imagine", prompt="a secret nude woman")
    appeal = await fake.click(alice, blocked.original, blocked.original.button("Appeal"))
    await appeal.wait_for_response()
    [card] = fake.messages(review)
    ask = await _run(world, alice, "privacy", "delete")
    erase = await fake.click(alice, ask.original, ask.original.button("Erase everything"))
    await erase.wait_for_response()
    assert "Erased 2 jobs" in ask.original.content
    await fake.wait_for(lambda: not card.components, timeout=10)
    assert "withdrawn" in card.embeds[0]["title"] and "secret" not in json.dumps(card.embeds)
    await fake.wait_for(lambda: not waiting.original.components, timeout=10)
    assert "secret" not in waiting.original.content
    services = bot.services
    async with services.sessions() as session:
        from sqlalchemy import select

        from db.models import Appeal, AuditRecord, Job

        jobs = (await session.scalars(select(Job).where(Job.user_id == alice.id))).all()
        records = (
            await session.scalars(select(AuditRecord).where(AuditRecord.target_user_id == alice.id))
        ).all()
        appeals = (await session.scalars(select(Appeal).where(Appeal.user_id == alice.id))).all()
    assert len(jobs) == 2 and all(j.deleted_at and j.state in ("done", "cancelled") for j in jobs)
    assert not any(j.interaction_token for j in jobs)
    stored = json.dumps(
        [[j.prompt, j.request] for j in jobs]
        + [r.details for r in records]
        + [a.prompt for a in appeals]
    )
    assert "secret" not in stored
    blocks = [r for r in records if r.action == "prompt_blocked"]
    assert blocks and blocks[0].details["category"] == "sexual"  # what moderation needs stays
    await runner.stop(bot)
    await runner.start()  # a worker now: the stopped job never renders nor posts
    await asyncio.sleep(3)
    assert not waiting.original.attachments
    vary = await fake.click(alice, grid, grid.button("V1"))
    await vary.wait_for_response()
    assert vary.ephemeral and "no longer exists" in vary.original.embeds[0]["description"]
