"""How an answer looks in Discord: /describe's four prompts and /shorten's important words
and shorter prompts, numbered, with a button per prompt that runs it through /imagine;
/describe's also with "Imagine all" and 🔄 (four new prompts for the same image)."""

from __future__ import annotations

import discord
from discord.ui import View

from bot.ui.components import button
from bot.ui.custom_ids import digit, register, snowflake
from bot.ui.job_views import DELETE, DETAILS, FAVOURITE, add_web_link
from db import Job
from inference.operations import JobAction
from inference.shorten import MAX_OPTIONS

# Prompt n of an answer (1-5), or all of them (0).
RUN_PROMPT = register("run", digit("index", MAX_OPTIONS), snowflake("job"))
DESCRIBE_AGAIN = register("rd", snowflake("job"))
NUMBERS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣")
MAX_FIELD = 1024
COLOUR = discord.Colour.blurple()


def answer_embed(job: Job, prompts: list[str]) -> discord.Embed:
    """The numbered prompts (and, for /shorten, the prompt with its important words in
    bold); says so when moderation left none to show."""
    listed = "\n\n".join(
        f"{NUMBERS[n]} {_clip(discord.utils.escape_markdown(p), 380)}"
        for n, p in enumerate(prompts)
    )
    if not prompts:
        listed = "No prompt to show: every one was held back by this server's content policy."
    if job.action == JobAction.DESCRIBE:
        return discord.Embed(title="Described", description=listed, colour=COLOUR)
    embed = discord.Embed(title="Shortened", colour=COLOUR)
    embed.add_field(name="Important tokens", value=_clip(_bolded(job), MAX_FIELD), inline=False)
    embed.add_field(name="Shortened prompts", value=_clip(listed, MAX_FIELD), inline=False)
    return embed


def answer_view(job: Job, prompts: list[str], web_url: str | None = None) -> View:
    """A button per prompt; /describe's also "Imagine all" and 🔄; then ❤️, 🗑️, ✉️ and the
    web link."""
    view = View(timeout=None)
    for n in range(len(prompts)):
        view.add_item(button(RUN_PROMPT.make(n + 1, job.id), label=str(n + 1), row=0))
    if job.action == JobAction.DESCRIBE:
        if prompts:
            view.add_item(button(RUN_PROMPT.make(0, job.id), label="Imagine all", row=1))
        view.add_item(button(DESCRIBE_AGAIN.make(job.id), emoji="🔄", row=1))
    view.add_item(button(FAVOURITE.make(0, job.id), emoji="❤️", row=2))
    view.add_item(button(DELETE.make(0, job.id), emoji="🗑️", row=2))
    view.add_item(button(DETAILS.make(0, job.id), emoji="✉️", row=2))
    add_web_link(view, web_url, 2)
    return view


def _bolded(job: Job) -> str:
    """The prompt's words, the important ones in bold."""
    answer = job.answer or {}
    important = set(answer.get("important", ()))
    words = [discord.utils.escape_markdown(word) for word in answer.get("words", ())]
    shown = [
        f"**{w}**" if raw in important else w
        for w, raw in zip(words, answer.get("words", ()), strict=True)
    ]
    return " ".join(shown) or "(none)"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
