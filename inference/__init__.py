"""Prompt language, model presets and diffusers pipelines. Never imports discord."""
