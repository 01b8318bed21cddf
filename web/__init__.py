"""The web companion: job pages and galleries on aiohttp, reached through signed links the bot
hands out (services.links). Imports services and db, never discord."""
