"""/mod stats without Discord: a server's jobs, GPU minutes, members, blocks and appeals
over the last days, its most used models, and a chart of jobs per day (a PNG, Pillow)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

from PIL import Image, ImageDraw

from db import AppealRepository, AuditLog, JobStats
from db.jobs.stats import ServerUsage
from db.models import utcnow
from services.errors import UserFacingError
from services.strikes import BLOCKED

MAX_DAYS = 90
CHART_SIZE = (640, 240)


@dataclass(frozen=True)
class ServerReport:
    days: int
    usage: ServerUsage
    blocks: int
    appeals: int
    first_day: date

    def lines(self) -> list[str]:
        usage = self.usage
        models = ", ".join(f"{model} ({count})" for model, count in usage.models) or "none"
        return [
            f"**Last {self.days} day{'s' if self.days != 1 else ''}**",
            f"**Jobs:** {usage.jobs:,} · **GPU time:** {usage.gpu_seconds / 60:,.1f} min · "
            f"**Members:** {usage.members:,}",
            f"**Blocked prompts:** {self.blocks:,} · **Appeals:** {self.appeals:,}",
            f"**Top models:** {models}",
        ]

    def daily(self) -> list[tuple[date, int]]:
        """Jobs on each day of the period, oldest first (days without any count 0)."""
        return [
            (day, self.usage.per_day.get(day, 0))
            for day in (self.first_day + timedelta(days=n) for n in range(self.days))
        ]


class ServerStats:
    def __init__(self, stats: JobStats, audit: AuditLog, appeals: AppealRepository) -> None:
        self.stats = stats
        self.audit = audit
        self.appeals = appeals

    async def report(self, guild_id: int, days: int) -> ServerReport:
        if not 1 <= days <= MAX_DAYS:
            raise UserFacingError(f"Days must be 1 to {MAX_DAYS}; {days} given.")
        first_day = utcnow().date() - timedelta(days=days - 1)
        since = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
            days=days - 1
        )
        return ServerReport(
            days,
            await self.stats.server_usage(guild_id, since),
            await self.audit.count_in_guild(guild_id, BLOCKED, since),
            await self.appeals.filed_in_guild(guild_id, since),
            first_day,
        )


def chart_png(report: ServerReport) -> bytes:
    """Jobs per day as bars, the busiest day's count at the top. Blocking: from a thread."""
    width, height = CHART_SIZE
    margin, top = 32, 24
    image = Image.new("RGB", CHART_SIZE, (22, 23, 27))
    draw = ImageDraw.Draw(image)
    daily = report.daily()
    busiest = max((count for _, count in daily), default=0) or 1
    slot = (width - 2 * margin) / len(daily)
    floor = height - margin
    draw.line([(margin, floor), (width - margin, floor)], fill=(90, 92, 100))
    for n, (day, count) in enumerate(daily):
        left = margin + n * slot + slot * 0.15
        bar = (floor - top) * count / busiest
        if count:
            draw.rectangle([left, floor - bar, left + slot * 0.7, floor], fill=(88, 101, 242))
        if len(daily) <= 14 or n % max(1, len(daily) // 7) == 0:
            draw.text((left, floor + 6), day.strftime("%d %b"), fill=(154, 156, 165))
    draw.text((margin, 4), f"jobs per day (most: {busiest})", fill=(232, 232, 234))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
