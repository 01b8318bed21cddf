from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.settings import Settings


def test_token_is_read_from_discord_token_and_never_shown(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token-value")
    settings = Settings(_env_file=None)
    assert settings.token.get_secret_value() == "secret-token-value"
    assert "secret-token-value" not in repr(settings)


def test_defaults_use_an_sqlite_file_in_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("IMAGINEBOT_DATA_DIR", str(tmp_path))
    settings = Settings(_env_file=None)
    assert settings.model == "sd-turbo"
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path}/imaginebot.db"


def test_guild_ids_are_a_comma_list(monkeypatch):
    monkeypatch.setenv("IMAGINEBOT_GUILD_IDS", "1, 22,333")
    assert Settings(_env_file=None).guild_ids == [1, 22, 333]


def test_bad_guild_ids_name_the_problem(monkeypatch):
    monkeypatch.setenv("IMAGINEBOT_GUILD_IDS", "1,abc")
    with pytest.raises(ValidationError, match="comma-separated numeric ids"):
        Settings(_env_file=None)


@pytest.mark.parametrize(("typed", "shards"), [("auto", "auto"), ("4", 4)])
def test_shards_are_a_number_or_auto(monkeypatch, typed, shards):
    monkeypatch.setenv("IMAGINEBOT_SHARDS", typed)
    assert Settings(_env_file=None).shards == shards


@pytest.mark.parametrize("typed", ["0", "many"])
def test_bad_shards_are_refused(monkeypatch, typed):
    monkeypatch.setenv("IMAGINEBOT_SHARDS", typed)
    with pytest.raises(ValidationError, match="shards"):
        Settings(_env_file=None)


def test_models_are_a_comma_list_served_after_the_default(monkeypatch):
    monkeypatch.setenv("IMAGINEBOT_MODEL", "tiny")
    monkeypatch.setenv("IMAGINEBOT_MODELS", "sdxl-turbo, tiny,sd15")
    assert Settings(_env_file=None).served_models == ["tiny", "sdxl-turbo", "sd15"]


def test_image_hosts_are_a_comma_list_of_lowercase_names(monkeypatch):
    monkeypatch.setenv("IMAGINEBOT_IMAGE_HOSTS", "CDN.Example.com., 127.0.0.1")
    settings = Settings(_env_file=None)
    assert settings.image_hosts == ["cdn.example.com", "127.0.0.1"]
    monkeypatch.delenv("IMAGINEBOT_IMAGE_HOSTS")
    assert Settings(_env_file=None).image_hosts == ["cdn.discordapp.com", "media.discordapp.net"]


def test_memory_options_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("IMAGINEBOT_ATTENTION_SLICING", "true")
    monkeypatch.setenv("IMAGINEBOT_VAE_TILING", "1")
    monkeypatch.setenv("IMAGINEBOT_CPU_OFFLOAD", "model")
    monkeypatch.setenv("IMAGINEBOT_DTYPE", "bfloat16")
    options = Settings(_env_file=None).memory_options
    assert (options.attention_slicing, options.vae_tiling) == (True, True)
    assert (options.cpu_offload, options.dtype) == ("model", "bfloat16")


def test_memory_options_are_off_by_default():
    options = Settings(_env_file=None).memory_options
    assert not options.attention_slicing and not options.vae_tiling
    assert options.cpu_offload == "none" and options.dtype is None


def test_an_unknown_offload_mode_lists_the_valid_ones(monkeypatch):
    monkeypatch.setenv("IMAGINEBOT_CPU_OFFLOAD", "gpu")
    with pytest.raises(ValidationError, match="'none', 'model' or 'sequential'"):
        Settings(_env_file=None)


@pytest.mark.parametrize(
    ("url", "forced", "renders"),
    [
        (None, None, True),  # embedded mode: SQLite and the bot's own worker
        ("postgresql+asyncpg://db/imaginebot", None, False),  # `imaginebot worker`s render
        ("postgresql+asyncpg://db/imaginebot", "true", True),
        (None, "false", False),
    ],
)
def test_the_bot_renders_itself_by_default_only_on_sqlite(monkeypatch, url, forced, renders):
    for name, value in (("IMAGINEBOT_DATABASE_URL", url), ("IMAGINEBOT_EMBEDDED_WORKER", forced)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert Settings(_env_file=None).renders_in_process is renders
