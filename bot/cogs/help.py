"""/help: a short guide to prompts, buttons and commands (only the asker sees it)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot

GUIDE = [
    (
        "Prompts",
        "`/imagine prompt:a red fox in snow --ar 3:2 --seed 42 --no people`\n"
        "Parameters go last: `--ar W:H`, `--seed N`, `--no a, b`, `--chaos 0-100`, "
        "`--stylize 0-1000`, `--quality .25/.5/1/2`, `--stop 10-100`, `--tile`, `--repeat N`.\n"
        "Weights: `hot::2 dog`. Permutations: `a {red, blue} fox` makes one job each.",
    ),
    (
        "Buttons",
        "`U1`-`U4` image n at full size · `V1`-`V4` variations of image n · 🔄 new seeds · "
        "`Vary (Subtle/Strong)` after an upscale · ❤️ favourite · 🗑️ delete · Cancel while "
        "it runs. Only you (or a moderator) can press your job's buttons.",
    ),
    (
        "Images and prompts",
        "`/describe image` four prompts for an image, with buttons that run them · "
        "`/blend image1 image2 [..image5] dimensions` one grid mixing 2-5 images · "
        "`/shorten prompt` which words matter, and shorter prompts to run.",
    ),
    (
        "Your things",
        "`/history` your jobs · `/show job_id` bring one back · `/info` queue and usage · "
        "`/settings` model, stylize, quality, speed, remix, stealth · `/prefer option set` "
        "named flag bundles (`--name`) · `/prefer suffix` flags added to every prompt · "
        "`/fast` / `/relax` your speed lane.",
    ),
    (
        "Rules",
        "Prompts are checked against this server's content policy. If one is blocked by "
        "mistake, press **Appeal** and a moderator will review it.",
    ),
]


class Help(commands.Cog):
    @app_commands.command(name="help", description="How to write prompts and use the buttons")
    async def help_command(self, interaction: discord.Interaction[Any]) -> None:
        embed = discord.Embed(title="imaginebot", colour=discord.Colour.blurple())
        for name, value in GUIDE:
            embed.add_field(name=name, value=value, inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Help())
