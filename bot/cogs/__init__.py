"""The features, one discord.py extension each: its slash commands, and the handlers of its
buttons and forms (added to the router as it loads)."""

EXTENSIONS = (
    "bot.cogs.imagine",
    "bot.cogs.results",
    "bot.cogs.prompt_tools",
    "bot.cogs.history",
    "bot.cogs.preferences",
    "bot.cogs.privacy",
    "bot.cogs.moderation",
    "bot.cogs.web",
    "bot.cogs.help",
)
