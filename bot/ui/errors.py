"""How an error looks in Discord: what went wrong, the prompt it was in, what to do."""

from __future__ import annotations

import discord

from services.errors import InvalidParameter, UserFacingError

ERROR_COLOUR = discord.Colour.red()


def error_embed(error: UserFacingError) -> discord.Embed:
    embed = discord.Embed(title=error.title, description=error.description, colour=ERROR_COLOUR)
    if isinstance(error, InvalidParameter):
        embed.add_field(name="Your prompt", value=_codeblock(error.prompt), inline=False)
    if error.hint:
        embed.add_field(name="What to do", value=error.hint, inline=False)
    return embed


def unexpected_error_embed(error_id: str) -> discord.Embed:
    return discord.Embed(
        title="Something went wrong",
        description=f"An unexpected error happened (error id `{error_id}`). "
        "Try again; if it keeps happening, give the id to the server's admins.",
        colour=ERROR_COLOUR,
    )


def _codeblock(text: str) -> str:
    text = text.replace("```", "`\u200b``")
    limit = 1024 - 8
    return f"```\n{text[:limit]}```"
