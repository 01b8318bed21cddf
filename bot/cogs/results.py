"""The buttons on a job's messages: the operations (U, V, reroll, upscale, vary, zoom, pan,
make square; one handler each, from inference.operations), their remix and Custom Zoom
forms, Cancel, ❤️, 🗑️, ✉️ (details) and Yes / No for a held batch."""

from __future__ import annotations

import contextlib
from typing import Any

import discord
from discord.ext import commands

from bot.client import ImagineBot
from bot.router import Handler
from bot.ui.custom_ids import CustomId
from bot.ui.forms import CUSTOM_ZOOM, REMIX, remix_form, submitted, zoom_factor, zoom_form
from bot.ui.job_views import (
    CANCEL,
    CONFIRM,
    DECLINE,
    DELETE,
    DETAILS,
    FAVOURITE,
    OPERATION_IDS,
)
from bot.ui.messages import details_embed
from inference.operations import OPERATIONS, Operation

Interaction = discord.Interaction[Any]
CUSTOM_ZOOM_KEY = next(op.key for op in OPERATIONS if op.asks_zoom)


class Results(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self.children = bot.services.children
        self.controls = bot.services.controls
        self.imagine = bot.services.imagine

    def routes(self) -> dict[CustomId, Handler]:
        routes: dict[CustomId, Handler] = {
            OPERATION_IDS[op.key]: self._operation(op) for op in OPERATIONS
        }
        routes.update(
            {
                REMIX: self.remixed,
                CUSTOM_ZOOM: self.zoomed,
                CANCEL: self.cancel,
                FAVOURITE: self.favourite,
                DELETE: self.delete,
                DETAILS: self.details,
                CONFIRM: self.confirm,
                DECLINE: self.decline,
            }
        )
        return routes

    def _operation(self, op: Operation) -> Handler:
        async def pressed(interaction: Interaction, fields: dict[str, Any]) -> None:
            await self.operate(interaction, op, fields["index"], fields["job"])

        return pressed

    async def operate(
        self, interaction: Interaction, op: Operation, index: int, job_id: int
    ) -> None:
        """A child job of `job_id`, or first the form it needs: Custom Zoom always asks how
        far; with remix on, the prompt can be edited."""
        origin = self.bot.origin(interaction)
        if op.asks_zoom:
            job = await self.children.pressable(job_id, origin)
            await interaction.response.send_modal(zoom_form(index, job))
            return
        remixed = await self.children.remixable(op.key, job_id, origin)
        if remixed is not None:
            await interaction.response.send_modal(remix_form(op, index, remixed))
            return
        child = self.children.child(op.key, index, job_id, origin)
        await self._post(interaction, child)

    async def remixed(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        prompt = submitted(interaction).get("prompt", "")
        origin = self.bot.origin(interaction)
        child = self.children.child(
            fields["key"], fields["index"], fields["job"], origin, remix_prompt=prompt
        )
        await self._post(interaction, child)

    async def zoomed(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        values = submitted(interaction)
        zoom = zoom_factor(values.get("zoom", ""))
        origin = self.bot.origin(interaction)
        prompt = values.get("prompt", "")
        child = self.children.child(
            CUSTOM_ZOOM_KEY, fields["index"], fields["job"], origin, remix_prompt=prompt, zoom=zoom
        )
        await self._post(interaction, child)

    async def _post(self, interaction: Interaction, child: Any) -> None:
        job = await self.bot.acks.within_deadline(interaction, child)
        await self.bot.posting.post_jobs(interaction, [job])

    async def cancel(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        await self.controls.cancel(fields["job"], self.bot.origin(interaction))
        await interaction.response.defer()  # the delivery loop updates the message
        self.bot.queue_changed()

    async def favourite(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        favourite = await self.controls.toggle_favourite(
            fields["job"], self.bot.origin(interaction)
        )
        text = (
            "Added to your favourites (/history favourites:True)."
            if favourite
            else "Removed from your favourites."
        )
        await interaction.response.send_message(text, ephemeral=True)

    async def delete(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        job = await self.controls.delete(fields["job"], self.bot.origin(interaction))
        await interaction.response.send_message(f"Deleted job #{job.id}.", ephemeral=True)
        if job.message_id is not None:
            channel = self.bot.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
            with contextlib.suppress(discord.HTTPException):  # already gone is fine
                await channel.get_partial_message(job.message_id).delete()

    async def details(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        details = await self.controls.details(fields["job"], self.bot.origin(interaction))
        await interaction.response.send_message(embed=details_embed(details), ephemeral=True)

    async def confirm(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        jobs = await self.imagine.confirm(fields["job"], self.bot.origin(interaction), start=True)
        await interaction.response.edit_message(content=f"Starting {len(jobs)} jobs.", view=None)
        await self.bot.posting.post_jobs(interaction, jobs)

    async def decline(self, interaction: Interaction, fields: dict[str, Any]) -> None:
        jobs = await self.imagine.confirm(fields["job"], self.bot.origin(interaction), start=False)
        await interaction.response.edit_message(content=f"Cancelled {len(jobs)} jobs.", view=None)


async def setup(bot: ImagineBot) -> None:
    results = Results(bot)
    for kind, handler in results.routes().items():
        bot.router.add(kind, handler)
    await bot.add_cog(results)
