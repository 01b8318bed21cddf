"""One deployment's use cases, wired from its settings: the database, the image store, the
repositories and the services on them. The bot and the web companion are built on this;
nothing here loads a model (a bot-only process never imports torch)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import moderation
from db import (
    AppealRepository,
    AuditLog,
    BanRepository,
    DeliveryJobs,
    GalleryJobs,
    GuildRepository,
    ImageStore,
    JobStats,
    MemberJobs,
    PrefsRepository,
    TermRepository,
    WorkerRegistry,
    make_engine,
    make_sessionmaker,
    upgrade_schema,
)
from inference.presets import Preset, served_presets
from services.answers import Answers
from services.appeals import Appeals
from services.blend import BlendService
from services.children import ChildJobs
from services.escalation import parse_duration, parse_ladder
from services.events import JobEvents
from services.gallery import Gallery
from services.health import Health
from services.history import History
from services.image_fetch import FetchLimits, ImageFetcher
from services.imagine import ImagineService
from services.intake import Intake
from services.job_controls import JobControls
from services.links import Links
from services.maintenance import Maintenance
from services.moderators import Moderators
from services.policy import deployment_policy, semantic_layer
from services.preferences import Preferences
from services.privacy import Privacy
from services.regions import RegionJobs
from services.server_stats import ServerStats
from services.settings import Settings
from services.standing import StandingCheck
from services.strikes import BlockStrikes


@dataclass
class Services:
    settings: Settings
    db_engine: AsyncEngine
    presets: dict[str, Preset]  # served, the default first
    store: ImageStore
    events: JobEvents
    sessions: async_sessionmaker[AsyncSession]
    jobs: MemberJobs
    delivery_jobs: DeliveryJobs
    bans: BanRepository
    audit: AuditLog
    guilds: GuildRepository
    prefs: PrefsRepository
    imagine: ImagineService
    children: ChildJobs
    answers: Answers
    blend: BlendService
    controls: JobControls
    history: History
    preferences: Preferences
    privacy: Privacy
    appeals: Appeals
    moderators: Moderators
    maintenance: Maintenance
    health: Health
    server_stats: ServerStats
    # The web companion's links and pages; None when it is off (IMAGINEBOT_WEB_PORT 0 and
    # no IMAGINEBOT_WEB_SECRET).
    links: Links | None = None
    gallery: Gallery | None = None
    regions: RegionJobs | None = None

    @property
    def models(self) -> list[str]:
        return list(self.presets)

    async def start(self) -> None:
        """Bring the schema up to date (embedded mode's only set-up step), and compile the
        moderation term lists (about a second, 20,000 names) off the event loop, so the
        first prompt does not wait for them on it."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade_schema(self.db_engine)
        await asyncio.to_thread(
            moderation.check_prompt, ["warm up"], (), self.imagine.intake.policy
        )

    async def close(self) -> None:
        await self.db_engine.dispose()


def build_services(settings: Settings) -> Services:
    """Everything but Discord and the models. Raises ValueError for an unknown preset or a bad
    presets file, so a typo stops the start with the reason."""
    presets = served_presets(settings.load_presets(), settings.served_models)
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    jobs = MemberJobs(sessions)
    delivery_jobs = DeliveryJobs(sessions, settings.fast_allowance_s)
    bans, audit = BanRepository(sessions), AuditLog(sessions)
    guilds, terms = GuildRepository(sessions), TermRepository(sessions)
    appeals, prefs = AppealRepository(sessions), PrefsRepository(sessions)
    store = ImageStore(settings.images_dir)
    standing = StandingCheck(bans, settings.allow_dms)
    ladder = parse_ladder(settings.strike_ladder)
    strikes = BlockStrikes(
        audit,
        bans,
        ladder,
        settings.block_strike_count,
        parse_duration(settings.block_strike_window),
    )
    intake = Intake(
        jobs,
        standing,
        audit,
        prefs,
        guilds,
        terms,
        presets,
        settings.max_queued_jobs,
        deployment_policy(settings.lexicon_file),
        semantic_layer(settings.semantic_moderation),
        ImageFetcher(FetchLimits.from_settings(settings), store),
        strikes=strikes,
    )
    controls = JobControls(jobs, audit, presets)
    imagine, children = ImagineService(intake, jobs), ChildJobs(intake, jobs)
    links = web_links(settings)
    gallery, regions = None, None
    if links is not None:
        gallery = Gallery(links, jobs, GalleryJobs(sessions), bans, audit, store, presets)
        regions = RegionJobs(intake, jobs, store)
    return Services(
        settings=settings,
        db_engine=engine,
        presets=presets,
        store=store,
        events=JobEvents(),
        sessions=sessions,
        jobs=jobs,
        delivery_jobs=delivery_jobs,
        bans=bans,
        audit=audit,
        guilds=guilds,
        prefs=prefs,
        imagine=imagine,
        children=children,
        answers=Answers(intake, imagine, children),
        blend=BlendService(intake),
        controls=controls,
        history=History(jobs, prefs, standing, settings.fast_allowance_s),
        preferences=Preferences(prefs, guilds, presets),
        privacy=Privacy(jobs, prefs, audit, appeals, guilds, store),
        appeals=Appeals(bans, audit, appeals, guilds, ladder),
        moderators=Moderators(
            bans,
            audit,
            guilds,
            terms,
            appeals,
            jobs,
            controls,
            settings.max_running_jobs,
            settings.max_queued_jobs,
        ),
        maintenance=Maintenance(jobs, delivery_jobs, store, settings.delete_grace_hours),
        server_stats=ServerStats(JobStats(sessions), audit, appeals),
        health=Health(
            JobStats(sessions), WorkerRegistry(sessions), list(presets), settings.lease_seconds
        ),
        links=links,
        gallery=gallery,
        regions=regions,
    )


def web_links(settings: Settings) -> Links | None:
    """The links of the web companion, when it is on; ValueError when its port is set
    without a secret to sign them."""
    secret = settings.web_secret.get_secret_value() if settings.web_secret else ""
    if not secret:
        if settings.web_port:
            raise ValueError(
                "IMAGINEBOT_WEB_PORT is set but IMAGINEBOT_WEB_SECRET is not: set it to a "
                "random string of 16 or more characters (it signs the web links)"
            )
        return None
    return Links(secret, settings.web_base_url, settings.web_link_hours * 3600)
