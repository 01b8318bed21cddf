"""/privacy export and /privacy delete: a member's data, to take away or to erase.

Moderation audit records are never exported here nor erased: they belong to the server.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import zipfile
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ui import Button, DynamicItem, View

from bot.errors import NotYourJob
from db import ImageStore, Job

if TYPE_CHECKING:
    from bot.app import ImagineBot

Interaction = discord.Interaction["ImagineBot"]
EXPORT_LIMIT = 10 * 1024 * 1024 - 64 * 1024  # one Discord upload


def build_export(jobs: list[Job], store: ImageStore, limit: int = EXPORT_LIMIT) -> bytes:
    """A zip of jobs.json and the images, newest first, as many as fit in `limit`.

    Blocking (file reads and compression): call it from a thread.
    """
    records = []
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for job in jobs:
            files = []
            for image in job.images:
                name = f"images/job{job.id}_{image.index}.{image.format}"
                data = store.get(image.sha256, image.format)
                if out.tell() + len(data) + 64 * 1024 > limit:
                    files.append({"index": image.index, "omitted": "over the upload limit"})
                    continue
                archive.writestr(name, data)
                files.append({"index": image.index, "file": name, "seed": image.seed})
            records.append(
                {
                    "job": job.id,
                    "prompt": job.prompt,
                    "action": job.action,
                    "state": job.state,
                    "model": job.model,
                    "seeds": job.seeds,
                    "request": job.request,
                    "created_at": job.created_at.isoformat(),
                    "favourite": job.favourite,
                    "images": files,
                }
            )
        archive.writestr("jobs.json", json.dumps(records, indent=2))
    return out.getvalue()


privacy = app_commands.Group(name="privacy", description="Your data")


@privacy.command(name="export", description="A zip of your jobs and images, only for you")
async def export(interaction: Interaction) -> None:
    bot = interaction.client
    await interaction.response.defer(ephemeral=True, thinking=True)
    jobs = list(await bot.jobs.for_user(interaction.user.id, limit=10_000))
    data = await asyncio.to_thread(build_export, jobs, bot.store)
    file = discord.File(io.BytesIO(data), filename="imaginebot-export.zip")
    await interaction.edit_original_response(  # the private "thinking" message
        content=f"Your {len(jobs)} jobs. Images that did not fit in one upload are listed "
        "in jobs.json.",
        attachments=[file],
    )


@privacy.command(name="delete", description="Erase all your jobs and images (asks first)")
async def delete(interaction: Interaction) -> None:
    view = View(timeout=None)
    view.add_item(EraseButton(interaction.user.id, True))
    view.add_item(EraseButton(interaction.user.id, False))
    await interaction.response.send_message(
        "This erases all your jobs, images and preferences. Moderation records stay. Sure?",
        view=view,
        ephemeral=True,
    )


class EraseButton(DynamicItem[Button[View]], template=r"ib:pd:(?P<user>[0-9]+):(?P<go>[01])"):
    def __init__(self, user_id: int, go: bool) -> None:
        super().__init__(
            Button(
                label="Erase everything" if go else "Keep my data",
                style=discord.ButtonStyle.danger if go else discord.ButtonStyle.secondary,
                custom_id=f"ib:pd:{user_id}:{int(go)}",
            )
        )
        self.user_id, self.go = user_id, go

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> EraseButton:
        return cls(int(match["user"]), match["go"] == "1")

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        bot = interaction.client
        if interaction.user.id != self.user_id:
            await bot.reply_error(interaction, NotYourJob())
            return
        if not self.go:
            await interaction.response.edit_message(content="Nothing was erased.", view=None)
            return
        erased = await bot.jobs.delete_all(self.user_id)
        await bot.prefs.forget(self.user_id)
        await bot.bans.record(
            interaction.guild_id, self.user_id, self.user_id, "privacy_delete", "", {"jobs": erased}
        )
        await interaction.response.edit_message(
            content=f"Erased {erased} jobs and your preferences. Their images are removed "
            "from the server's storage within a day.",
            view=None,
        )


def register(tree: app_commands.CommandTree[ImagineBot]) -> None:
    tree.add_command(privacy)
