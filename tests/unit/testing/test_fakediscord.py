"""The fake Discord against a small real discord.py client defined here."""

from __future__ import annotations

import asyncio
import contextlib
import io

import discord
import pytest
from discord import app_commands

from testing.fakediscord import FakeDiscord


class EchoBot(discord.Client):
    """A minimal bot: /echo defers, edits its reply, then follows up with a file and a button."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(intents=discord.Intents.none(), guild_ready_timeout=0.1)
        self.tree = app_commands.CommandTree(self)
        self.guild_id = guild_id
        self.clicks: list[str] = []

        @self.tree.command(name="echo", description="echo text")
        async def echo(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.edit_original_response(content=f"working on {text} (50%)")
            view = discord.ui.View(timeout=None)
            view.add_item(discord.ui.Button(label="Press", custom_id="press:1"))
            await interaction.edit_original_response(content=f"echo: {text}")
            await interaction.followup.send(
                "here is a file", file=discord.File(io.BytesIO(b"x" * 100), "a.bin"), view=view
            )

    async def setup_hook(self) -> None:
        await self.tree.sync()
        await self.tree.sync(guild=discord.Object(self.guild_id))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type == discord.InteractionType.component:
            self.clicks.append(interaction.data["custom_id"])
            await interaction.response.send_message("clicked", ephemeral=True)


@contextlib.asynccontextmanager
async def running(bot: discord.Client, fake: FakeDiscord):
    task = asyncio.create_task(bot.start(fake.token))
    try:
        await fake.wait_until_ready()
        yield bot
    finally:
        await bot.close()
        with contextlib.suppress(Exception):
            await task


@pytest.fixture
def world(fake):
    guild = fake.add_guild("Test")
    channel = fake.add_channel(guild, "general")
    alice = fake.add_user("alice")
    fake.add_member(guild, alice)
    return guild, channel, alice


async def test_slash_defer_edit_followup_and_click(fake, world):
    guild, channel, alice = world
    async with running(EchoBot(guild.id), fake) as bot:
        assert [c["name"] for c in fake.commands()] == ["echo"]
        assert [c["name"] for c in fake.commands(guild)] == []  # guild sync sent an empty list
        inter = await fake.slash(alice, channel, "echo", text="hi")
        assert await inter.wait_for_response() == 5
        await fake.wait_for(lambda: len(inter.followups) == 1)
        original = inter.original
        assert original.content == "echo: hi"
        assert [e["content"] for e in original.edits] == ["", "working on hi (50%)"]
        followup = inter.followups[0]
        assert followup.attachments[0].data == b"x" * 100
        click = await fake.click(alice, followup, followup.button("Press"))
        assert await click.wait_for_response() == 4
        assert click.ephemeral and click.original.content == "clicked"
        assert bot.clicks == ["press:1"]
        assert [m.id for m in fake.messages(channel)] == [original.id, followup.id]
        assert fake.ephemerals(alice)[0].content == "clicked"


async def test_late_acknowledgement_is_an_unknown_interaction(fake, world):
    guild, channel, alice = world

    class SlowClicks(EchoBot):
        async def on_interaction(self, interaction):
            if interaction.type == discord.InteractionType.component:
                fake.advance(3.5)  # the bot "took" longer than Discord's 3 s
                try:
                    await interaction.response.send_message("too late")
                except discord.NotFound as error:
                    self.clicks.append(error.code)

    async with running(SlowClicks(guild.id), fake) as bot:
        inter = await fake.slash(alice, channel, "echo", text="x")
        await fake.wait_for(lambda: inter.followups)
        click = await fake.click(alice, inter.followups[0], "press:1")
        await fake.wait_for(lambda: bot.clicks)
        assert bot.clicks == [10062] and click.response_type is None


async def test_token_expires_after_fifteen_minutes(fake, world):
    guild, channel, alice = world
    async with running(EchoBot(guild.id), fake):
        inter = await fake.slash(alice, channel, "echo", text="hi")
        await fake.wait_for(lambda: inter.followups)
        fake.advance(15 * 60 + 1)
        status = await _patch_original(fake, inter)
        assert status == (401, 50027)


async def _patch_original(fake, inter):
    import aiohttp

    url = f"{fake.api_base}/webhooks/{fake.application_id}/{inter.token}/messages/@original"
    async with (
        aiohttp.ClientSession() as session,
        session.patch(url, json={"content": "late"}) as r,
    ):
        return r.status, (await r.json())["code"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"content": "x" * 2001}, (400, 50035)),
        (
            {
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {"type": 2, "style": 1, "label": str(i), "custom_id": str(i)}
                            for i in range(6)
                        ],
                    }
                ]
            },
            (400, 50035),
        ),
        (
            {
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {"type": 2, "style": 1, "label": "a", "custom_id": "c" * 101}
                        ],
                    }
                ]
            },
            (400, 50035),
        ),
        (
            {
                "components": [
                    {
                        "type": 1,
                        "components": [{"type": 2, "style": 1, "label": "a", "custom_id": "c"}],
                    }
                ]
                * 6
            },
            (400, 50035),
        ),
        ({"content": "fine"}, (200, None)),
    ],
    ids=["long-content", "six-buttons-in-a-row", "custom-id-over-100", "six-rows", "valid"],
)
async def test_channel_messages_are_validated(fake, world, body, expected):
    import aiohttp

    guild, channel, alice = world
    url = f"{fake.api_base}/channels/{channel.id}/messages"
    headers = {"Authorization": f"Bot {fake.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers) as r,
    ):
        data = await r.json()
        assert (r.status, data.get("code")) == expected


async def test_uploads_over_ten_mebibytes_are_refused(fake, world):
    guild, channel, alice = world
    async with running(EchoBot(guild.id), fake) as bot:
        target = bot.get_partial_messageable(channel.id)
        with pytest.raises(discord.HTTPException) as info:
            await target.send(
                file=discord.File(io.BytesIO(b"0" * (10 * 1024 * 1024 + 1)), "big.bin")
            )
        assert info.value.status == 413 and info.value.code == 40005
        sent = await target.send(file=discord.File(io.BytesIO(b"0" * 1000), "ok.bin"))
        assert fake.all_messages[sent.id].attachments[0].filename == "ok.bin"


async def test_wrong_token_is_a_login_failure(fake):
    bot = discord.Client(intents=discord.Intents.none())
    with pytest.raises(discord.LoginFailure):
        await bot.login("not-the-token")
    await bot.close()


async def test_injected_429_is_retried_by_discord_py(fake, world):
    guild, channel, alice = world
    async with running(EchoBot(guild.id), fake) as bot:
        fake.inject_429("POST", r"^/channels/\d+/messages$", count=1, retry_after=0.1)
        await bot.get_partial_messageable(channel.id).send("after a 429")
        statuses = [r.status for r in fake.requests if r.method == "POST" and "/messages" in r.path]
        assert statuses[-2:] == [429, 200]
        assert fake.messages(channel)[-1].content == "after a 429"


async def test_gateway_drop_resumes_and_later_interactions_are_answered(fake, world):
    guild, channel, alice = world
    async with running(EchoBot(guild.id), fake):
        first_session = fake._session
        await fake.drop_gateway()
        inter = await fake.slash(alice, channel, "echo", text="after drop")
        assert await inter.wait_for_response(timeout=20) == 5
        assert fake._session is first_session  # resumed, not re-identified


def test_modals_are_held_to_discords_limits():
    import pytest

    from testing.fakediscord.validation import DiscordError, validate_modal

    field = {"type": 4, "custom_id": "prompt", "label": "Prompt", "value": "a fox"}
    good = {"title": "Remix", "custom_id": "ib:rm:v:1:5", "components": [
        {"type": 1, "components": [field]}
    ]}  # fmt: skip
    validate_modal(good)
    for bad in (
        {**good, "title": "x" * 46},
        {**good, "components": []},
        {**good, "components": [{"type": 1, "components": [{**field, "value": "x" * 4001}]}]},
        {**good, "components": [{"type": 1, "components": [{**field, "label": ""}]}]},
    ):
        with pytest.raises(DiscordError):
            validate_modal(bad)
