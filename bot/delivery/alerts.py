"""Messages nobody asked for: alerts to a guild's moderators, decisions to a member."""

from __future__ import annotations

import discord

from db import GuildRepository


async def alert_moderators(
    client: discord.Client, guilds: GuildRepository, guild_id: int | None, title: str, text: str
) -> None:
    """Post to the review channel, when the guild has one: what moderators must see without
    anyone appealing (zero-tolerance blocks, results withheld by the output filter)."""
    channel_id = await guilds.review_channel(guild_id)
    if channel_id is None:
        return
    embed = discord.Embed(title=title, colour=discord.Colour.dark_red(), description=text)
    channel = client.get_partial_messageable(channel_id, guild_id=guild_id)
    await channel.send(embed=embed, allowed_mentions=discord.AllowedMentions.none())


async def tell_member(
    client: discord.Client,
    user_id: int,
    channel_id: int,
    guild_id: int | None,
    text: str,
) -> None:
    """Tell a member about a decision: by DM, or in the channel they used if DMs are closed."""
    mention = discord.AllowedMentions(users=[discord.Object(user_id)], everyone=False, roles=False)
    try:
        await dm_member(client, user_id, text)
    except discord.HTTPException:
        channel = client.get_partial_messageable(channel_id, guild_id=guild_id)
        await channel.send(f"<@{user_id}> {text}", allowed_mentions=mention)


async def dm_member(client: discord.Client, user_id: int, text: str) -> None:
    """A direct message to a member; discord.HTTPException if their DMs are closed."""
    user = client.get_user(user_id) or await client.fetch_user(user_id)
    await user.send(text)
