"""The worker loop on a real database, image store and the tiny model."""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
import pytest
from PIL import Image

from db import ImageStore, JobState
from inference.operations import JobAction, kind_of
from inference.outcomes import OUTPUT_FILTERED
from inference.seeds import grid_seeds
from inference.worker import Worker
from tests.unit.inference.worker_jobs import new_job, run_one, tiny_pool


@pytest.fixture
def worker(repo, tmp_path, tiny_models_dir):
    engines = tiny_pool(tiny_models_dir)
    engines.get("tiny").load()
    return Worker(repo.worker, ImageStore(tmp_path / "images"), engines, "test-worker")


async def test_grid_job_stores_grid_and_four_images_with_their_seeds(worker, repo):
    done = await run_one(worker, repo, new_job("a red fox --ar 3:2 --seed 42 --no people"))
    assert done.state == JobState.DONE, done.error
    assert done.seeds == grid_seeds(42) == [42, 43, 44, 45]
    grid, *singles = done.images
    assert grid.index == 0 and [i.index for i in singles] == [1, 2, 3, 4]
    assert [i.seed for i in singles] == [42, 43, 44, 45]
    assert grid.width == 2 * singles[0].width and grid.height == 2 * singles[0].height
    assert singles[0].width > singles[0].height  # 3:2 landscape
    with Image.open(worker.store.path(singles[1].sha256, "png")) as img:
        assert img.size == (singles[1].width, singles[1].height)
        assert img.text["seed"] == "43"


async def test_upscale_shows_the_chosen_image_of_the_parent(worker, repo):
    parent = await run_one(worker, repo, new_job("a fox --seed 7"))
    child = await run_one(
        worker,
        repo,
        new_job(
            "a fox --seed 7", JobAction.UPSCALE, parent_id=parent.id, parent_index=3, seed=None
        ),
    )
    assert child.state == JobState.DONE
    assert [(i.index, i.sha256, i.seed) for i in child.images] == [(1, parent.images[3].sha256, 9)]


async def test_variation_makes_a_new_grid_from_the_parent_image(worker, repo):
    parent = await run_one(worker, repo, new_job("a fox --seed 7"))
    child = await run_one(
        worker,
        repo,
        new_job(
            "a fox --seed 7", JobAction.VARIATION, parent_id=parent.id, parent_index=2, seed=1000
        ),
    )
    assert child.state == JobState.DONE, child.error
    assert child.seeds == [1000, 1001, 1002, 1003]
    assert len(child.images) == 5
    assert {i.sha256 for i in child.images}.isdisjoint({i.sha256 for i in parent.images})


def _size(worker, image):
    with Image.open(worker.store.path(image.sha256, image.format)) as img:
        return img.size


async def test_upscales_store_one_image_at_their_factor(worker, repo):
    parent = await run_one(worker, repo, new_job("a fox --ar 3:2 --seed 7"))
    source = parent.images[2]
    for action in (JobAction.UPSCALE_SUBTLE, JobAction.UPSCALE_CREATIVE, JobAction.UPSCALE_4X):
        child = await run_one(
            worker, repo, new_job("a fox --ar 3:2", action, parent_id=parent.id, parent_index=2)
        )
        assert child.state == JobState.DONE, child.error
        [image] = child.images
        assert image.index == 1 and image.seed == child.seeds[0]
        factor = kind_of(action).factor
        assert (image.width, image.height) == (factor * source.width, factor * source.height)
        assert _size(worker, image) == (image.width, image.height)


async def test_an_upscale_with_upscaling_off_fails_saying_which_setting(
    repo, tmp_path, tiny_models_dir
):
    worker = Worker(
        repo.worker, ImageStore(tmp_path), tiny_pool(tiny_models_dir, upscaler="off"), "off"
    )
    parent = await run_one(worker, repo, new_job("a fox --seed 7"))
    child = await run_one(
        worker, repo, new_job("a fox", JobAction.UPSCALE_4X, parent_id=parent.id, parent_index=1)
    )
    assert child.state == JobState.FAILED and "IMAGINEBOT_UPSCALER" in child.error


@pytest.mark.parametrize(
    ("action", "zoom", "size"),
    [
        (JobAction.ZOOM_OUT, 1.5, (80, 48)),
        (JobAction.PAN_LEFT, None, (128, 48)),
        (JobAction.PAN_UP, None, (80, 64)),
        (JobAction.MAKE_SQUARE, None, (80, 80)),
    ],
)
async def test_zoom_pan_and_square_make_a_grid_of_the_grown_canvas(
    worker, repo, action, zoom, size
):
    parent = await run_one(worker, repo, new_job("a fox --ar 3:2 --seed 7"))  # 80x48 images
    child = await run_one(
        worker,
        repo,
        new_job("a fox --ar 3:2", action, parent_id=parent.id, parent_index=1, zoom=zoom, seed=5),
    )
    assert child.state == JobState.DONE, child.error
    grid, *singles = child.images
    assert {(i.width, i.height) for i in singles} == {size}
    assert (grid.width, grid.height) == (2 * size[0], 2 * size[1])
    assert child.seeds == grid_seeds(5)


async def test_a_render_error_fails_the_job_with_a_message_and_the_worker_goes_on(worker, repo):
    broken = await run_one(
        worker, repo, new_job("a fox", JobAction.UPSCALE, parent_id=None, parent_index=1)
    )
    # an upscale without a parent cannot render: reported, not dropped
    assert broken.state == JobState.FAILED and broken.error
    ok = await run_one(worker, repo, new_job("a fox --seed 1"))
    assert ok.state == JobState.DONE


async def test_run_loop_recovers_a_job_left_running_and_renders_it(worker, repo):
    job, _ = await repo.member.create(new_job("a fox --seed 3"))
    await repo.worker.claim_next("a-worker-that-died")
    task = asyncio.create_task(worker.run())
    try:
        for _ in range(600):
            current = await repo.member.get(job.id)
            if current.state == JobState.DONE:
                break
            await asyncio.sleep(0.05)
        assert current.state == JobState.DONE and current.attempts == 2
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task  # nothing may hold a connection when the fixture disposes the engine


async def test_cancelling_a_running_job_stops_the_denoising_loop_early(
    repo, tmp_path, tiny_models_dir
):
    steps = 30
    engines = tiny_pool(tiny_models_dir, default_steps=steps)
    engine = engines.get("tiny")
    engine.load()
    unet_calls = []
    engine._pipe.unet.register_forward_hook(lambda *args: unet_calls.append(1))
    worker = Worker(repo.worker, ImageStore(tmp_path / "images"), engines, "w")
    job, _ = await repo.member.create(new_job("a fox --seed 1"))
    claimed = await repo.worker.claim_next("w")
    assert await repo.member.cancel(job.id)  # the cancel lands while the worker holds the job
    await worker.process(claimed)
    stopped = await repo.member.get(job.id)
    assert stopped.state == JobState.CANCELLED and stopped.images == []
    assert 0 < len(unet_calls) < steps


async def test_a_render_past_the_time_limit_fails_saying_so_and_the_worker_goes_on(
    repo, tmp_path, tiny_models_dir
):
    import time

    engines = tiny_pool(tiny_models_dir, default_steps=30)
    engine = engines.get("tiny")
    engine.load()
    handle = engine._pipe.unet.register_forward_hook(lambda *args: time.sleep(0.05))
    worker = Worker(
        repo.worker, ImageStore(tmp_path / "images"), engines, "w", render_timeout_s=0.3
    )
    slow = await run_one(worker, repo, new_job("a fox --seed 1"))
    assert slow.state == JobState.FAILED
    assert "longer than 0.3 s" in slow.error and "IMAGINEBOT_RENDER_TIMEOUT_S" in slow.error
    handle.remove()
    worker.render_timeout_s = 600
    after = await run_one(worker, repo, new_job("a fox --seed 2"))
    assert after.state == JobState.DONE, after.error


async def test_a_flagged_result_is_withheld_and_reported(repo, tmp_path, tiny_models_dir):
    engines = tiny_pool(tiny_models_dir)
    seen = []

    def flag_everything(image):
        seen.append(image.size)
        return "test-filter: flagged"

    worker = Worker(
        repo.worker, ImageStore(tmp_path / "images"), engines, "w", output_filter=flag_everything
    )
    job, _ = await repo.member.create(new_job("a fox --seed 2"))
    await worker.process(await repo.worker.claim_next("w"))
    withheld = await repo.member.get(job.id)
    assert withheld.state == JobState.FAILED
    assert withheld.error == f"{OUTPUT_FILTERED} (test-filter: flagged)"
    assert withheld.images == [] and not list((tmp_path / "images").rglob("*.png"))
    assert seen  # the filter looked at the rendered images


async def test_a_longer_render_records_a_preview_with_its_progress_while_running(
    repo, tmp_path, tiny_models_dir, monkeypatch
):
    from inference import hooks

    monkeypatch.setattr(hooks, "PREVIEW_INTERVAL_S", 0.0)
    store = ImageStore(tmp_path / "images")
    seen = []  # (state, progress, preview on the row, decoded size, written) per preview
    record = repo.worker.set_progress

    async def record_and_look(job_id, percent, preview=None):
        recorded = await record(job_id, percent, preview)
        if preview is None:
            return recorded
        with Image.open(store.path(preview, "jpg")) as image:
            image.load()
            size = image.size
        job = await repo.member.get(job_id)
        assert job.preview_sha256 == preview
        seen.append((job.state, job.progress, job.preview_sha256, size, recorded))
        return recorded

    monkeypatch.setattr(repo.worker, "set_progress", record_and_look)
    worker = Worker(repo.worker, store, tiny_pool(tiny_models_dir, default_steps=8), "w")
    done = await run_one(worker, repo, new_job("a fox taking shape --seed 5"))
    assert done.state == JobState.DONE, done.error
    assert seen, "no preview was recorded"
    state, percent, preview, size, recorded = seen[0]
    assert state == JobState.RUNNING and 0 < percent < 100 and recorded
    assert size == (256, 256) and preview is not None
    assert done.preview_sha256 == seen[-1][2]
    assert not list(store.root.rglob("*.jpg"))  # previews go when the result is in


async def test_the_grid_file_names_its_seeds_and_an_image_seed_draws_that_image_again(worker, repo):
    done = await run_one(worker, repo, new_job("a red fox --chaos 40 --seed 90"))
    grid, *singles = done.images
    with Image.open(worker.store.path(grid.sha256, "png")) as img:
        assert img.text["seed"] == "90" and img.text["image_seeds"] == "90 91 92 93"
    again = await run_one(worker, repo, new_job("a red fox --chaos 40 --seed 92"))

    def pixels(image):
        with Image.open(worker.store.path(image.sha256, "png")) as img:
            return np.asarray(img.convert("RGB"))

    assert np.array_equal(pixels(again.images[1]), pixels(singles[2]))  # image 3, exactly
    assert not np.array_equal(pixels(again.images[2]), pixels(singles[2]))
