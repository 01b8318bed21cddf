"""The `imaginebot` command as a user runs it: separate processes, real sockets."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.watermark import mark
from testing.imageserver import gradient, png_of

IMAGINEBOT = str(Path(sys.executable).parent / "imaginebot")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGINEBOT_", "DISCORD_"))}
    env.update(extra)
    return env


def _run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IMAGINEBOT, *args], cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=120
    )


def test_missing_token_is_one_line_that_says_how_to_fix_it(tmp_path):
    result = _run("run", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DISCORD_TOKEN is not set" in lines[0]
    assert "Traceback" not in result.stderr


async def test_wrong_token_is_one_line_and_never_echoes_the_token(fake, tmp_path):
    process = await asyncio.create_subprocess_exec(
        IMAGINEBOT,
        "run",
        cwd=tmp_path,
        env=_env(
            DISCORD_TOKEN="wrong-secret-123",
            DISCORD_API_BASE=fake.api_base,
            DISCORD_GATEWAY_URL=fake.gateway_url,
            IMAGINEBOT_DATA_DIR=str(tmp_path / "d"),
            IMAGINEBOT_MODEL="tiny",
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    text = err.decode()
    assert process.returncode == 2, text
    assert "Discord rejected DISCORD_TOKEN" in text.strip().splitlines()[-1]
    assert "Traceback" not in text and "wrong-secret-123" not in text + out.decode()


def test_parse_prints_the_contract_and_exit_codes(tmp_path):
    ok = _run("parse", "a red fox --ar 1920:1080 --seed 42", cwd=tmp_path)
    assert ok.returncode == 0
    data = json.loads(ok.stdout)
    assert data["aspect"] == "16:9" and data["seed"] == 42 and data["expansions"] == 1
    bad = _run("parse", "a fox --chaos 150", cwd=tmp_path)
    assert bad.returncode == 1
    error = json.loads(bad.stdout)
    assert error["code"] == "chaos_range" and "chaos" in error["error"]


def test_moderate_prints_the_verdict(tmp_path):
    result = _run("moderate", "a beach --no people, nudity", cwd=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout)["allowed"] is True
    blocked = json.loads(_run("moderate", "a {cat, nude woman}", cwd=tmp_path).stdout)
    assert blocked["allowed"] is False and blocked["category"] == "sexual"


def test_imagine_renders_locally_without_discord(tmp_path, tiny_models_dir):
    result = _run(
        "imagine",
        "a fox --ar 2:1 --seed 5",
        "-o",
        str(tmp_path / "out"),
        "--model",
        "tiny",
        cwd=tmp_path,
        IMAGINEBOT_MODELS_DIR=str(tiny_models_dir),
    )
    assert result.returncode == 0, result.stderr
    sidecar = json.loads((tmp_path / "out" / "job.json").read_text())
    assert sidecar["seeds"] == [5, 6, 7, 8]
    with Image.open(tmp_path / "out" / "grid.png") as grid:
        assert grid.width == 2 * grid.height
    assert len(list((tmp_path / "out").glob("image_*_seed_*.png"))) == 4

    # The operations read the prompt back from the file's provenance.
    first = tmp_path / "out" / "image_1_seed_5.png"
    panned = _run(
        "pan", str(first), "left", "-o", str(tmp_path / "pan"), "--model", "tiny", "--seed", "3",
        cwd=tmp_path, IMAGINEBOT_MODELS_DIR=str(tiny_models_dir),
    )  # fmt: skip
    assert panned.returncode == 0, panned.stderr
    with Image.open(first) as source, Image.open(tmp_path / "pan" / "image_1_seed_3.png") as out:
        assert out.height == source.height and out.width > source.width
    read = _run("provenance", str(tmp_path / "pan" / "grid.png"), cwd=tmp_path)
    assert read.returncode == 0, read.stderr
    found = json.loads(read.stdout)
    assert found["prompt"] == "a fox --ar 2:1 --seed 5" and found["operation"] == "pan"
    assert found["DigitalSourceType"].endswith("/trainedAlgorithmicMedia")
    Image.new("RGB", (64, 32)).save(tmp_path / "foreign.png")
    square = _run("square", str(tmp_path / "foreign.png"), "--model", "tiny", cwd=tmp_path)
    assert square.returncode == 2 and "carries no prompt" in square.stderr


def test_upscale_runs_the_super_resolution_model_at_2x_and_4x(tmp_path, tiny_models_dir):
    env = {"IMAGINEBOT_MODELS_DIR": str(tiny_models_dir)}
    gradient(96, 64).save(tmp_path / "photo.png")  # no provenance: no prompt needed
    sizes = {}
    for factor in ("2", "4"):
        out = tmp_path / f"x{factor}.png"
        result = _run(
            "upscale", str(tmp_path / "photo.png"), "-o", str(out), "--factor", factor,
            "--model", "tiny", cwd=tmp_path, **env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        with Image.open(out) as image:
            sizes[factor] = image.size
            upscaled = np.asarray(image.convert("RGB"), np.float32)
    assert sizes == {"2": (192, 128), "4": (384, 256)}
    plain = gradient(96, 64).resize((384, 256), Image.Resampling.LANCZOS).convert("RGB")
    assert np.abs(upscaled - np.asarray(plain, np.float32)).mean() > 2
    creative = _run(
        "upscale", str(tmp_path / "photo.png"), "--creative", "--model", "tiny", cwd=tmp_path,
        **env,
    )  # fmt: skip
    assert creative.returncode == 2 and "carries no prompt" in creative.stderr
    redrawn = _run(
        "upscale", str(tmp_path / "photo.png"), "--creative", "--prompt", "a fox", "-o",
        str(tmp_path / "c.png"), "--model", "tiny", cwd=tmp_path, **env,
    )  # fmt: skip
    assert redrawn.returncode == 0, redrawn.stderr
    off = _run(
        "upscale", str(tmp_path / "photo.png"), "--model", "tiny", cwd=tmp_path, **env,
        IMAGINEBOT_UPSCALER="off",
    )  # fmt: skip
    assert off.returncode == 2 and "IMAGINEBOT_UPSCALER" in off.stderr


def test_imagine_writes_one_grid_per_repeat_and_refuses_what_the_model_cannot_do(
    tmp_path, tiny_models_dir
):
    env = {"IMAGINEBOT_MODELS_DIR": str(tiny_models_dir)}
    result = _run(
        "imagine", "a fox --seed 10 --repeat 2", "-o", str(tmp_path / "g.png"), "--model",
        "tiny", cwd=tmp_path, **env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    seeds = []
    for name in ("g-1.png", "g-2.png"):
        with Image.open(tmp_path / name) as grid:
            seeds.append(grid.text["image_seeds"])
    assert seeds == ["10 11 12 13", "14 15 16 17"]
    refused = _run("imagine", "a fox --sref 1234", "--model", "tiny", cwd=tmp_path)
    assert refused.returncode == 2 and "--sref style codes" in refused.stderr


@pytest.mark.slow
async def test_bot_as_a_separate_process_serves_imagine_and_survives_a_kill(
    fake, tmp_path, tiny_models_dir
):
    guild = fake.add_guild("Process Server")
    channel = fake.add_channel(guild)
    alice = fake.add_user("alice")
    fake.add_member(guild, alice)
    env = _env(
        DISCORD_TOKEN=fake.token,
        DISCORD_API_BASE=fake.api_base,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        IMAGINEBOT_MODEL="tiny",
        IMAGINEBOT_DATA_DIR=str(tmp_path / "data"),
        IMAGINEBOT_MODELS_DIR=str(tiny_models_dir),
        IMAGINEBOT_GUILD_IDS=str(guild.id),
        IMAGINEBOT_ACK_BUDGET_S="2",  # answered, not deferred, also on a slow machine
        IMAGINEBOT_GUILD_READY_TIMEOUT_S="0.2",  # the fake sends every guild at once
    )

    async def start() -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            IMAGINEBOT,
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await fake.wait_for(lambda: fake.commands(guild), timeout=120)
        await fake.wait_until_ready(timeout=120)
        return process

    process = await start()
    try:
        inter = await fake.slash(alice, channel, "imagine", prompt="a fox in a process --seed 3")
        assert await inter.wait_for_response() == 4
        await fake.wait_for(lambda: inter.original.attachments, timeout=120)
        grid = Image.open(io.BytesIO(inter.original.attachments[0].data))
        assert grid.size[0] > 0

        process.send_signal(signal.SIGKILL)  # no clean shutdown: the next start must cope
        await process.wait()
        fake.global_commands.clear()
        fake.guild_commands.clear()
        process = await start()
        click = await fake.click(alice, inter.original, inter.original.button("U4"))
        assert await click.wait_for_response(timeout=30) == 4
        await fake.wait_for(lambda: click.original.attachments, timeout=120)
        assert "Image #4" in click.original.content
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def _run_async(*args: str, cwd: Path, **env: str) -> tuple[int, str, str]:
    """The command in a subprocess while this event loop keeps serving (the image server)."""
    process = await asyncio.create_subprocess_exec(
        IMAGINEBOT, *args, cwd=cwd, env=_env(**env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_imagine_refuses_an_image_prompt_from_a_host_not_allowed(tmp_path, image_server):
    url = image_server.add_bytes("fox.png", png_of(gradient()))
    code, _, err = await _run_async("imagine", f"{url} a fox", "--model", "tiny", cwd=tmp_path)
    assert code == 2 and f"Image prompt {url}: host 127.0.0.1 is not allowed" in err
    assert "Traceback" not in err and image_server.hits["fox.png"] == 0


@pytest.mark.slow
async def test_imagine_draws_from_an_image_prompt_on_an_allowed_host(
    tmp_path, tiny_models_dir, image_server
):
    url = image_server.add_bytes("fox.png", png_of(gradient()))
    code, out, err = await _run_async(
        "imagine", f"{url} a fox --ar 3:2 --iw 2 --seed 4", "-o", "grid.png", "--model", "tiny",
        cwd=tmp_path, IMAGINEBOT_MODELS_DIR=str(tiny_models_dir), IMAGINEBOT_IMAGE_HOSTS="127.0.0.1",
    )  # fmt: skip
    assert code == 0, err
    assert image_server.hits["fox.png"] == 1
    with Image.open(tmp_path / "grid.png") as grid:
        assert grid.width > grid.height


def test_watermark_verify_names_the_job_of_a_marked_image(tmp_path):
    rng = np.random.default_rng(3)
    picture = Image.fromarray(rng.integers(40, 216, (300, 300, 3), dtype=np.uint8))
    mark(picture, 4242).save(tmp_path / "marked.png")
    picture.save(tmp_path / "plain.png")
    marked = _run("watermark", "verify", str(tmp_path / "marked.png"), cwd=tmp_path)
    assert marked.returncode == 0
    assert json.loads(marked.stdout) == {"watermarked": True, "job_id": 4242}
    plain = _run("watermark", "verify", str(tmp_path / "plain.png"), cwd=tmp_path)
    assert plain.returncode == 1
    assert json.loads(plain.stdout) == {"watermarked": False, "job_id": None}
    missing = _run("watermark", "verify", str(tmp_path / "nope.png"), cwd=tmp_path)
    assert missing.returncode == 2 and "nope.png" in missing.stderr


@pytest.mark.postgres
async def test_db_upgrade_brings_our_tables_and_procrastinate_s_to_postgresql(tmp_path):
    import asyncpg

    from tests.conftest import _postgres_database

    async for url in _postgres_database():
        result = await asyncio.to_thread(_run, "db", "upgrade", "--database-url", url, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "up to date" in result.stdout
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            tables = {
                r["tablename"]
                for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            }
        finally:
            await conn.close()
        assert {"jobs", "procrastinate_jobs", "procrastinate_workers"} <= tables


def test_describe_prints_four_prompts_as_json(tmp_path, tiny_models_dir):
    gradient(120, 80).save(tmp_path / "photo.png")
    env = {"IMAGINEBOT_MODELS_DIR": str(tiny_models_dir)}
    result = _run("describe", str(tmp_path / "photo.png"), "--model", "tiny", "--seed", "4",
                  cwd=tmp_path, **env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    prompts = json.loads(result.stdout)
    assert len(prompts) == len(set(prompts)) == 4
    assert all(isinstance(p, str) and p.endswith("--ar 3:2") for p in prompts)


def test_blend_writes_a_grid_and_four_images_that_depend_on_the_inputs(tmp_path, tiny_models_dir):
    env = {"IMAGINEBOT_MODELS_DIR": str(tiny_models_dir)}
    for colour in ("red", "blue", "green"):
        Image.new("RGB", (80, 80), colour).save(tmp_path / f"{colour}.png")
    grids = []
    for second in ("blue", "green"):
        out = tmp_path / f"with-{second}"
        result = _run(
            "blend", str(tmp_path / "red.png"), str(tmp_path / f"{second}.png"), "-o", str(out),
            "--model", "tiny", "--seed", "9", "--dimensions", "landscape", cwd=tmp_path, **env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert len(list(out.glob("image_*_seed_*.png"))) == 4
        with Image.open(out / "grid.png") as grid:
            grids.append(np.asarray(grid.convert("RGB"), np.float32))
    assert grids[0].shape[1] > grids[0].shape[0]  # landscape
    assert np.abs(grids[0] - grids[1]).mean() > 1
    alone = _run("blend", str(tmp_path / "red.png"), "--model", "tiny", cwd=tmp_path, **env)
    assert alone.returncode == 2 and "2 to 5 images" in alone.stderr


def test_shorten_prints_the_important_words_and_shorter_prompts(tmp_path, tiny_models_dir):
    env = {"IMAGINEBOT_MODELS_DIR": str(tiny_models_dir)}
    prompt = "a red fox sitting in a misty forest at dawn, oil painting --ar 3:2"
    result = _run("shorten", prompt, "--model", "tiny", cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert set(found) == {"important", "options"} and found["important"]
    assert set(found["important"]) <= set(prompt.replace(",", "").split())
    assert 1 <= len(found["options"]) <= 5
    assert all(o.endswith("--ar 3:2") and len(o) < len(prompt) for o in found["options"])
    empty = _run("shorten", "--ar 3:2", "--model", "tiny", cwd=tmp_path, **env)
    assert empty.returncode == 2 and "empty" in empty.stderr


def test_web_needs_a_port_and_a_secret(tmp_path):
    no_port = _run("web", cwd=tmp_path, IMAGINEBOT_DATA_DIR=str(tmp_path))
    assert no_port.returncode == 2 and "IMAGINEBOT_WEB_PORT" in no_port.stderr
    no_secret = _run(
        "web", cwd=tmp_path, IMAGINEBOT_DATA_DIR=str(tmp_path), IMAGINEBOT_WEB_PORT="8"
    )
    assert no_secret.returncode == 2 and "IMAGINEBOT_WEB_SECRET" in no_secret.stderr


async def test_web_serves_the_companion_alone_and_refuses_a_bad_link(tmp_path):
    import socket

    import aiohttp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _env(
        IMAGINEBOT_DATA_DIR=str(tmp_path),
        IMAGINEBOT_WEB_PORT=str(port),
        IMAGINEBOT_WEB_SECRET="a secret of sixteen characters",
    )
    process = await asyncio.create_subprocess_exec(
        IMAGINEBOT, "web", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/gallery?t=x.y") as response:
                        assert response.status == 403
                        assert "nosniff" in response.headers["X-Content-Type-Options"]
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("imaginebot web never answered")
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)


def test_a_restricted_licence_must_be_accepted_before_the_bot_or_a_worker_starts(tmp_path):
    env = {"IMAGINEBOT_MODEL": "sd-turbo", "IMAGINEBOT_DATA_DIR": str(tmp_path)}
    for command in (["run"], ["worker"]):
        result = _run(*command, cwd=tmp_path, DISCORD_TOKEN="x.y.z", **env)
        assert result.returncode == 2, (command, result.stderr)
        assert "Non-Commercial" in result.stderr
        assert "IMAGINEBOT_ACCEPT_LICENCES=sd-turbo" in result.stderr
