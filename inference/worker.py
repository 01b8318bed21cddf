"""The worker loop: claim a queued job, render it off the event loop, store the result.

Delivery guarantee: a job may be rendered more than once (a worker that dies mid-render
leaves it running; the next start requeues it, up to `max_attempts`), but rendering only
writes content-addressed files and the job row; posting is the bot's, marked once.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from PIL import Image

from db import PROMPT_IMAGE_FORMAT, ImageStore, Job, StoredImage, WorkerJobs
from db.models import utcnow
from db.tickets import conninfo
from db.workers import WorkerRegistry
from inference.engine import Engine
from inference.engines import EnginePool
from inference.hooks import Cancelled, PreviewSink
from inference.images import compose_grid, encode_png
from inference.metrics import JOBS_ENDED, QUEUE_WAIT_SECONDS, observe_render
from inference.operations import Kind, kind_of
from inference.outcomes import OUTPUT_FILTERED
from inference.outpaint import Canvas, make_square, pan, region, zoom_out
from inference.presets import canvas_limit, check_upscale
from inference.previews import Previews
from inference.prompt import GenerationRequest
from inference.references import job_image_urls, split_images
from inference.seeds import grid_seeds, random_seed
from inference.ticket_worker import TicketWorker
from inference.watermark import check_available, mark

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.5
# After the render time limit, how long the render thread gets to stop at its next step.
STOP_GRACE_S = 5.0


# Looks at one result image; returns what it found (a label) to withhold the result, or None.
OutputFilter = Callable[[Image.Image], str | None]


class OutputFiltered(Exception):
    """The output filter flagged an image of the result."""


class ModelUnavailable(Exception):
    """The job's model preset could not be loaded on this worker."""


class RenderTimeout(Exception):
    """The render went past the worker's time limit and was stopped."""


class Rendered(NamedTuple):
    """What a render made: its stored images and their seeds, or (/describe, /shorten) the
    prompts it answers with."""

    images: list[StoredImage]
    seeds: list[int]
    answer: dict[str, Any] | None = None


@dataclass(frozen=True)
class Source:
    """The image a child job starts from: its file and the seed it was made with."""

    sha256: str
    format: str
    seed: int | None


class Worker:
    """Serves the jobs table with the engines of its model presets; runs in the bot's process
    or its own."""

    def __init__(
        self,
        jobs: WorkerJobs,
        store: ImageStore,
        engines: EnginePool,
        worker_id: str,
        max_attempts: int = 3,
        poll_interval: float = 0.5,
        output_filter: OutputFilter | None = None,
        lease_s: float = 30.0,
        sole_worker: bool = True,
        watermark: bool = False,
        render_timeout_s: float = 600.0,
    ) -> None:
        if watermark:
            check_available()  # refuse to start rather than store unmarked images
        self.jobs = jobs
        self.store = store
        self.engines = engines
        self.worker_id = worker_id
        self.max_attempts = max_attempts
        self.poll_interval = poll_interval
        self.output_filter = output_filter
        # A running job's lease is renewed every lease_s / 3; one not renewed for lease_s
        # belongs to a dead worker and is requeued by any live one.
        self.lease_s = lease_s
        # The only worker (embedded mode): whatever was running at start was its own.
        self.sole_worker = sole_worker
        # Hide the job id in every stored image large enough (inference/watermark.py).
        self.watermark = watermark
        self.render_timeout_s = render_timeout_s
        self._current: int | None = None
        self._wake = asyncio.Event()
        # On PostgreSQL jobs come with dispatch tickets, served through procrastinate.
        self._tickets: TicketWorker | None = None
        if jobs.dispatched:
            self._tickets = TicketWorker(
                conninfo(jobs.url), self.start_next, worker_id, poll_interval
            )
        self.on_change: Callable[[], None] = lambda: None
        self.registry = WorkerRegistry(jobs.sessions)

    def wake(self) -> None:
        """A job was queued: look now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        if self.sole_worker:
            await self._recover(None)
        await self._beat()
        leases = asyncio.create_task(self._keep_leases(), name="leases")
        try:
            try:  # the default model loads up front; others on their first job
                await asyncio.to_thread(self.engines.get(self.engines.default).load)
            except Exception:
                log.exception("the default model %r could not be loaded", self.engines.default)
            # Torch, diffusers and the model are millions of long-lived objects; a full garbage
            # collection walking them stalls the process's event loop (docs/design-notes.md,
            # "Measured once"). Collect once now, then keep them out of later collections.
            gc.collect()
            gc.freeze()
            if self._tickets is not None:
                with contextlib.suppress(Exception):  # else at the first upkeep
                    await self.jobs.top_up_tickets()  # jobs queued while no worker ran
                await self._tickets.serve()
            else:
                await self._poll()
        except asyncio.CancelledError:
            await self._give_back()
            raise
        finally:
            leases.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await leases
            with contextlib.suppress(Exception):  # else its heartbeat lapses
                await self.registry.leave(self.worker_id)
            gc.unfreeze()

    async def _poll(self) -> None:
        """Embedded mode (SQLite): look for a job whenever woken, and every poll interval."""
        while True:
            try:
                if await self.start_next():
                    continue
            except Exception:
                # The database is restarting or unreachable. A job taken meanwhile stays
                # running under this worker's lease, which lapses, so it is run again.
                log.exception("could not take or record a job; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    async def start_next(self) -> bool:
        """Start the fairest startable job and render it; False if none could start."""
        job = await self.jobs.claim_next(self.worker_id)
        if job is None:
            if self._tickets is not None:  # its ticket may have been another preset's
                await self.jobs.hand_on_ticket(self.lease_s)
            return False
        await self.process(job)
        return True

    async def _keep_leases(self) -> None:
        """Renew the lease of the job being rendered, and take back jobs whose worker died
        (their lease lapsed), so another worker finishes them; in distributed mode, also
        tidy the dispatch tickets (db/tickets.py)."""
        beat = self.lease_s / 3
        since_recovery = 0.0
        while True:
            await asyncio.sleep(beat)
            try:
                await self._beat()
                if self._current is not None:
                    await self.jobs.renew_lease(self._current, self.worker_id)
                since_recovery += beat
                if since_recovery >= self.lease_s:
                    since_recovery = 0.0
                    await self._recover(utcnow() - timedelta(seconds=self.lease_s))
                    await self._tidy_tickets()
            except Exception:  # the database may be restarting: try again next beat
                log.exception("lease upkeep failed")

    async def _beat(self) -> None:
        """Tell the registry this worker is alive and what it serves (health, metrics)."""
        try:
            await self.registry.beat(self.worker_id, self.engines.names)
        except Exception:  # the database may be restarting: the next beat tells
            log.exception("could not record this worker's heartbeat")

    async def _tidy_tickets(self) -> None:
        """Distributed mode: drop the tickets of dead workers, then make up for every ticket
        missing (db.tickets.top_up)."""
        if self._tickets is None:
            return
        try:
            await self._tickets.remove_stalled()
        except Exception:  # procrastinate's worker may be restarting; next time then
            log.exception("could not remove the tickets of dead workers")
        await self.jobs.top_up_tickets()

    async def _give_back(self) -> None:
        """Asked to stop: the job being rendered (its thread ends at the next step) goes back
        to the queue now, for another worker, rather than when its lease lapses."""
        try:
            if await self.jobs.recover_running(self.max_attempts, worker_id=self.worker_id):
                log.info("stopped; the job being rendered went back to the queue")
        except Exception:  # the database is down: the job's lease brings it back
            log.exception("could not give back the job being rendered")

    async def _recover(self, lapsed_before: datetime | None) -> None:
        recovered = await self.jobs.recover_running(self.max_attempts, lapsed_before=lapsed_before)
        if recovered:
            log.info("requeued or failed %d job(s) left running by a dead worker", recovered)
            self.on_change()
            self.wake()

    async def process(self, job: Job) -> None:
        self._current = job.id
        try:
            await self._process(job)
        finally:
            self._current = None

    async def _process(self, job: Job) -> None:
        self.on_change()
        started = time.monotonic()
        if job.started_at is not None:
            waited = (job.started_at - job.created_at).total_seconds()
            QUEUE_WAIT_SECONDS.labels(job.model).observe(max(0.0, waited))
        outcome = "failed"
        cancel = threading.Event()
        previews = Previews(self.store)
        try:
            source = await self._source(job)
            report = self._progress_reporter(job.id, cancel, previews)
            result = await self._within_time_limit(
                asyncio.to_thread(self._render, job, source, report, cancel, previews.add), cancel
            )
        except asyncio.CancelledError:
            cancel.set()  # this worker is stopping: the render thread ends at its next step
            raise
        except Cancelled:
            log.info("job %s was cancelled while rendering", job.id)
            outcome = "cancelled"
        except OutputFiltered as filtered:
            outcome = "filtered"
            log.warning("job %s withheld by the output filter: %s", job.id, filtered)
            await self.jobs.fail(job.id, f"{OUTPUT_FILTERED} ({filtered})", self.worker_id)
        except Exception as exc:
            log.exception("job %s failed", job.id)
            await self.jobs.fail(job.id, f"{type(exc).__name__}: {exc}", self.worker_id)
        else:
            elapsed = time.monotonic() - started
            await self.jobs.finish(
                job.id, result.images, result.seeds, elapsed, self.worker_id, result.answer
            )
            outcome = "done"
            observe_render(job, elapsed, self.engines.presets.get(job.model))
        finally:
            await asyncio.to_thread(previews.delete_all)
            JOBS_ENDED.labels(job.action, outcome).inc()
        self.on_change()

    async def _within_time_limit(self, render: Any, cancel: threading.Event) -> Any:
        """The render's result, or RenderTimeout past the time limit: the render thread is
        told to stop at its next step and given STOP_GRACE_S to; one stuck inside a step
        keeps its thread, not this worker."""
        task = asyncio.ensure_future(render)
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.render_timeout_s)
        except TimeoutError:
            cancel.set()
            with contextlib.suppress(Exception, TimeoutError):
                await asyncio.wait_for(task, STOP_GRACE_S)
            raise RenderTimeout(
                f"the render took longer than {self.render_timeout_s:g} s, this bot's limit "
                "(IMAGINEBOT_RENDER_TIMEOUT_S), and was stopped: try a lower --q or a "
                "smaller --ar"
            ) from None

    async def _source(self, job: Job) -> Source | None:
        if not kind_of(job.action).from_image:
            return None
        parent = await self.jobs.get(job.parent_id) if job.parent_id is not None else None
        index = job.parent_index or 1
        image = next((i for i in parent.images if i.index == index), None) if parent else None
        if image is None:
            raise LookupError(f"job {job.parent_id} has no image #{index} to start from")
        return Source(image.sha256, image.format, image.seed)

    def _progress_reporter(
        self, job_id: int, cancel: threading.Event, previews: Previews
    ) -> Callable[[float], None]:
        """A thread-side callback that forwards progress to the database at most twice a second,
        and at once when a new preview waits (the engine makes one a second at most); when the
        row says the job is no longer running (cancelled), it sets `cancel`, which the engine
        checks at every denoising step."""
        loop = asyncio.get_running_loop()
        last = [0.0]
        lock = threading.Lock()

        def report(fraction: float) -> None:
            now = time.monotonic()
            with lock:
                due = now - last[0] >= PROGRESS_INTERVAL_S or previews.waiting
                if fraction >= 1.0 or not due:
                    return
                last[0] = now
                preview = previews.take()
            update = self.jobs.set_progress(job_id, int(fraction * 100), preview)
            future = asyncio.run_coroutine_threadsafe(update, loop)
            future.add_done_callback(lambda done: _after_report(done, cancel))

        def _after_report(done: Any, cancel: threading.Event) -> None:
            if not done.cancelled() and done.exception() is None and not done.result():
                cancel.set()
            loop.call_soon_threadsafe(self.on_change)

        return report

    def _render(
        self,
        job: Job,
        source: Source | None,
        progress: Callable[[float], None],
        cancel: threading.Event,
        preview: PreviewSink | None = None,
    ) -> Rendered:
        """Blocking: model call, encoding and file writes. Runs in a worker thread."""
        request = GenerationRequest.from_json(job.request)
        engine = self.engines.get(job.model)
        try:
            engine.load()
        except Exception as exc:
            # Without its model the job fails with the reason instead of waiting forever.
            raise ModelUnavailable(f"the model {job.model!r} could not be loaded ({exc})") from exc
        kind = kind_of(job.action)
        seed = job.seed if job.seed is not None else random_seed()
        if kind.engine == "shorten":
            return Rendered([], [], engine.shorten(job.prompt).answer())
        if kind.engine == "describe":
            (image,) = self._prompt_images(job, request)
            return Rendered([], [seed], {"prompts": engine.describe(image, seed)})
        if kind.engine == "pick":
            assert source is not None
            with Image.open(self.store.path(source.sha256, source.format)) as img:
                width, height = img.size
            picked = StoredImage(1, source.sha256, width, height, source.seed, source.format)
            return Rendered([picked], [source.seed] if source.seed is not None else [])
        start = self._open(source) if source is not None else None
        args = (progress, cancel, preview)
        if kind.engine == "upscale":
            assert start is not None
            check_upscale(engine.preset, start.size, kind.factor)
            upscaled = engine.upscale(request, start, seed, kind.factor, kind.creative, *args)
            self._check_output([upscaled])
            return Rendered([self._store(upscaled, job, 1, seed)], [seed])
        if kind.engine == "vary":
            assert start is not None and kind.strength is not None
            images = engine.vary(request, start, seed, kind.strength, *args)
        elif kind.engine == "outpaint":
            assert start is not None
            canvas = _canvas(job, kind, request, start, engine)
            images = engine.outpaint(request, canvas, seed, *args)
        elif kind.engine == "inpaint":
            assert start is not None
            mask = self._open(Source(job.prompt_images[0], PROMPT_IMAGE_FORMAT, None))
            canvas = region(start, mask, engine.preset.multiple, canvas_limit(engine.preset))
            images = engine.outpaint(request, canvas, seed, *args)
        else:
            prompt_images, references = split_images(request, self._prompt_images(job, request))
            if request.blend:
                images = engine.blend(request, prompt_images, seed, *args)
            elif prompt_images:
                images = engine.from_images(request, prompt_images, seed, *args)
            else:
                images = engine.grid(request, seed, *args, references=references)
        self._check_output(images)
        seeds = grid_seeds(seed)
        # The grid file names its seed (the same prompt with it makes the grid again) and
        # each image's.
        stored = [self._store(compose_grid(images), job, 0, seed, seeds)]
        stored += [
            self._store(img, job, i + 1, s)
            for i, (img, s) in enumerate(zip(images, seeds, strict=True))
        ]
        return Rendered(stored, seeds)

    def _open(self, source: Source) -> Image.Image:
        with Image.open(self.store.path(source.sha256, source.format)) as img:
            return img.convert("RGB")

    def _prompt_images(self, job: Job, request: GenerationRequest) -> list[Image.Image]:
        """The image prompts and references the bot downloaded for this job (never ignored:
        a job that needs them and lacks them fails, saying so)."""
        if len(job.prompt_images) < len(job_image_urls(request)):
            raise LookupError("the image prompts of this job were never downloaded")
        images = [
            self._open(Source(digest, PROMPT_IMAGE_FORMAT, None)) for digest in job.prompt_images
        ]
        self._check_output(images, "image prompt ")  # screened before they steer anything
        return images

    def _check_output(self, images: list[Image.Image], what: str = "") -> None:
        """Withhold the whole result if the output filter flags any image (nothing is
        stored); `what` names the images in the reason ("image prompt ")."""
        if self.output_filter is None:
            return
        for image in images:
            label = self.output_filter(image)
            if label:
                raise OutputFiltered(f"{what}{label}")

    def _store(
        self,
        image: Image.Image,
        job: Job,
        index: int,
        seed: int | None,
        image_seeds: list[int] | None = None,
    ) -> StoredImage:
        """Store one image with its provenance; the grid (index 0) also lists `image_seeds`."""
        if self.watermark:
            image = mark(image, job.id)
        metadata = {
            "prompt": job.prompt,
            "negative": ", ".join(job.request.get("negative", [])),
            "model": job.model,
            "job_id": str(job.id),
            "seed": "" if seed is None else str(seed),
        }
        if image_seeds:
            metadata["image_seeds"] = " ".join(map(str, image_seeds))
        digest = self.store.put(encode_png(image, metadata), "png")
        return StoredImage(index, digest, image.width, image.height, None if index == 0 else seed)


def _canvas(
    job: Job, kind: Kind, request: GenerationRequest, source: Image.Image, engine: Engine
) -> Canvas:
    """What a zoom, pan or make-square job paints on (checked when the button was pressed)."""
    multiple, limit = engine.preset.multiple, canvas_limit(engine.preset)
    if kind.canvas == "zoom":
        return zoom_out(source, job.zoom or 2.0, multiple, limit, request.aspect)
    if kind.canvas == "square":
        return make_square(source, multiple, limit)
    assert kind.direction is not None
    return pan(source, kind.direction, multiple, limit)
