"""The services that make jobs, on a real database: what /imagine and the buttons on a
result accept or refuse (services.imagine, services.children, services.job_controls)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from db import (
    ImageStore,
    JobState,
    StoredImage,
)
from inference.operations import JobAction
from inference.presets import PRESETS
from services.errors import (
    BannedPrompt,
    InvalidParameter,
    JobUnavailable,
    NotYourJob,
    QueueFull,
    UserBanned,
)
from services.image_fetch import FetchLimits, ImageFetcher
from testing.imageserver import gradient, png_of
from tests.unit.services.job_services import JobServices, _finished, _origin


async def test_imagine_stores_the_parsed_request_and_seed(service):
    [job] = await service.imagine.imagine(
        "a red fox in snow --ar 3:2 --seed 42 --no people", _origin()
    )
    assert job.state == JobState.QUEUED and job.seed == 42 and job.action == JobAction.IMAGINE
    assert job.request["aspect"] == "3:2" and job.request["negative"] == ["people"]
    assert job.interaction_token == "token" and job.token_expires_at > datetime.now(UTC)


async def test_a_seedless_prompt_gets_a_recorded_random_seed(service):
    [job] = await service.imagine.imagine("a red fox", _origin())
    assert 0 <= job.seed < 2**32


async def test_bad_flags_raise_invalid_parameter_with_the_prompt(service):
    with pytest.raises(InvalidParameter) as info:
        await service.imagine.imagine("a fox --bogus 3", _origin())
    assert info.value.prompt == "a fox --bogus 3" and "bogus" in info.value.description


async def test_a_denied_prompt_is_refused_with_its_category_and_audited(service):
    with pytest.raises(BannedPrompt) as info:
        await service.imagine.imagine("a nude woman", _origin())
    assert info.value.category == "sexual"
    records = await service.audit.for_member(20, 1)
    assert [r.action for r in records] == ["prompt_blocked"]
    assert records[0].details["prompt"] == "a nude woman"


async def test_a_banned_user_cannot_imagine_or_press_buttons(service):
    job = await _finished(service, user=1)
    await service.bans.ban(20, 1, "spam", moderator_id=5)
    with pytest.raises(UserBanned, match="spam"):
        await service.imagine.imagine("a fox", _origin())
    with pytest.raises(UserBanned):
        await service.children.child("u", 1, job.id, _origin())


async def test_queue_cap_refuses_with_counts(service):
    await service.imagine.imagine("one", _origin())
    await service.imagine.imagine("two", _origin())
    with pytest.raises(QueueFull, match="2 jobs"):
        await service.imagine.imagine("three", _origin())


async def test_buttons_make_children_of_the_owners_finished_job(service):
    parent = await _finished(service)
    upscale = await service.children.child("u", 3, parent.id, _origin())
    assert (upscale.action, upscale.parent_id, upscale.parent_index) == ("upscale", parent.id, 3)
    await service.worker.claim_next("w")  # keep under the cap of 2
    variation = await service.children.child("v", 2, parent.id, _origin())
    assert variation.action == "variation" and variation.seed != parent.seed


async def test_other_users_may_not_press_but_moderators_may(service):
    parent = await _finished(service, user=1)
    with pytest.raises(NotYourJob):
        await service.children.child("r", 0, parent.id, _origin(user=2))
    reroll = await service.children.child("r", 0, parent.id, _origin(user=3, moderator=True))
    assert reroll.action == JobAction.REROLL and reroll.user_id == 3


async def test_buttons_of_unfinished_or_missing_jobs_explain_themselves(service):
    [queued] = await service.imagine.imagine("a fox", _origin())
    with pytest.raises(JobUnavailable, match="not finished"):
        await service.children.child("u", 1, queued.id, _origin())
    with pytest.raises(JobUnavailable, match="no longer exists"):
        await service.children.child("u", 1, 987654, _origin())


async def test_permutations_and_repeats_make_one_job_each_in_order(service):
    jobs = await service.imagine.imagine("a {red, blue} fox --seed 10 --repeat 2", _origin())
    assert [j.prompt for j in jobs] == ["a red fox --seed 10 --repeat 2"] * 2 + [
        "a blue fox --seed 10 --repeat 2"
    ] * 2
    assert [j.seed for j in jobs] == [10, 14, 10, 14]
    assert {j.state for j in jobs} == {JobState.QUEUED}


async def test_more_than_five_jobs_are_held_until_confirmed(service):
    origin = _origin()
    jobs = await service.imagine.imagine("a {red, blue, green} fox --repeat 2", origin)
    assert len(jobs) == 6 and {j.state for j in jobs} == {JobState.HELD}
    with pytest.raises(NotYourJob):
        await service.imagine.confirm(jobs[3].id, _origin(user=2), start=True)
    started = await service.imagine.confirm(jobs[3].id, origin, start=True)
    assert [j.id for j in started] == [j.id for j in jobs]
    with pytest.raises(JobUnavailable, match="already started"):
        await service.imagine.confirm(jobs[0].id, origin, start=False)


async def test_a_blocked_permutation_blocks_the_whole_prompt(service):
    with pytest.raises(BannedPrompt):
        await service.imagine.imagine("a {cat, nude woman}", _origin())
    assert await service.jobs.for_user(1) == []


async def test_over_forty_jobs_in_total_is_an_error_naming_the_limit(service):
    with pytest.raises(InvalidParameter, match="40"):
        await service.imagine.imagine("a {a,b,c,d,e} fox --repeat 9", _origin())


async def test_user_defaults_apply_in_order_and_prompt_flags_win(service):
    await service.prefs.set_setting(1, "stylize", 250)
    await service.prefs.set_suffix(1, "--ar 16:9 --s 500")
    await service.prefs.set_option(1, "mine", "--chaos 20 --ar 2:3")
    [suffix_only] = await service.imagine.imagine("a fox", _origin())
    assert suffix_only.request["stylize"] == 500 and suffix_only.request["aspect"] == "16:9"
    [with_option] = await service.imagine.imagine("a fox --mine", _origin())
    assert with_option.request["aspect"] == "2:3" and with_option.request["chaos"] == 20
    for done in (suffix_only, with_option):  # make room under the cap of 2
        await service.worker.fail(done.id, "finished for the test")
    [explicit] = await service.imagine.imagine("a fox --mine --ar 1:1 --s 50", _origin())
    assert explicit.request["aspect"] == "1:1" and explicit.request["stylize"] == 50


async def test_an_unknown_option_name_is_an_unknown_parameter(service):
    with pytest.raises(InvalidParameter, match="--theirs"):
        await service.imagine.imagine("a fox --theirs", _origin())


@pytest.fixture(scope="module")
def semantic():
    from moderation.semantic import SemanticCheck

    return SemanticCheck()


async def test_semantic_layer_and_private_lexicon_block_through_the_service(
    service, semantic, tmp_path
):
    from services.policy import deployment_policy

    lexicon = tmp_path / "private.txt"
    lexicon.write_text("# deployment-private\nzorblax\n")
    service.intake.policy = deployment_policy(lexicon)
    with pytest.raises(BannedPrompt) as private:
        await service.imagine.imagine("a zorblax on a hill", _origin())
    assert private.value.category == "hate" and private.value.matched == ("zorblax",)
    [allowed] = await service.imagine.imagine(
        "a lady without a single thread of clothing", _origin()
    )
    await service.worker.fail(allowed.id, "done")
    service.intake.semantic = semantic
    with pytest.raises(BannedPrompt) as paraphrase:
        await service.imagine.imagine("a lady without a single thread of clothing", _origin())
    assert paraphrase.value.category == "sexual"


async def test_jobs_use_the_users_model_and_visibility_and_children_inherit_them(service):
    await service.prefs.set_model(1, "tiny-wide")
    await service.prefs.set_stealth(1, True)
    parent = await _finished(service)
    assert (parent.model, parent.stealth) == ("tiny-wide", True)
    await service.prefs.set_model(1, None)
    await service.prefs.set_stealth(1, False)
    child = await service.children.child("v", 2, parent.id, _origin())
    assert (child.model, child.stealth) == ("tiny-wide", True)
    [fresh] = await service.imagine.imagine("a fox", _origin())
    assert (fresh.model, fresh.stealth) == ("tiny", False)


async def test_a_model_no_longer_offered_is_reported_not_replaced(service):
    await service.prefs.set_model(1, "retired-model")
    with pytest.raises(InvalidParameter) as info:
        await service.imagine.imagine("a fox", _origin())
    assert info.value.code == "model_unavailable"
    assert "'retired-model' is no longer offered" in info.value.description


async def test_flags_the_model_cannot_honour_are_refused_at_the_command_and_the_remix(service):
    service.intake.presets["tiny-wide"] = replace(PRESETS["tiny-flux"], name="tiny-wide")
    await service.prefs.set_model(1, "tiny-wide")
    with pytest.raises(InvalidParameter) as info:
        await service.imagine.imagine("a fox --no snow", _origin())
    assert info.value.code == "unsupported_by_model"
    assert "tiny-wide has no negative prompt, so --no" in info.value.description
    assert "pick a model that has it: tiny" in info.value.description
    parent = await _finished(service)
    with pytest.raises(InvalidParameter, match="cannot make tiling images: remove --tile"):
        await service.children.child("v", 1, parent.id, _origin(), remix_prompt="a fox --tile")
    assert len(await service.jobs.for_user(1)) == 1  # nothing was queued by the refusals


async def test_remix_applies_to_variations_and_reroll_only_when_switched_on(service):
    parent = await _finished(service)
    assert await service.children.remixable("v", parent.id, _origin()) is None
    await service.prefs.set_remix(1, True)
    assert (await service.children.remixable("v", parent.id, _origin())).id == parent.id
    assert (await service.children.remixable("r", parent.id, _origin())).id == parent.id
    assert await service.children.remixable("u", parent.id, _origin()) is None
    await service.prefs.set_remix(2, True)
    with pytest.raises(NotYourJob):
        await service.children.remixable("v", parent.id, _origin(user=2))


async def test_a_remixed_child_is_parsed_and_moderated_like_a_new_prompt(service):
    parent = await _finished(service)
    child = await service.children.child(
        "v", 1, parent.id, _origin(), remix_prompt="a blue fox --ar 2:1"
    )
    assert child.prompt == "a blue fox --ar 2:1" and child.request["aspect"] == "2:1"
    assert child.parent_id == parent.id and child.parent_index == 1
    with pytest.raises(InvalidParameter) as bad:
        await service.children.child("v", 1, parent.id, _origin(), remix_prompt="a fox --chaos 500")
    assert bad.value.prompt == "a fox --chaos 500"
    with pytest.raises(InvalidParameter, match="--repeat 3 cannot be used in a remix"):
        await service.children.child("r", 0, parent.id, _origin(), remix_prompt="a fox --repeat 3")
    with pytest.raises(BannedPrompt):
        await service.children.child("v", 1, parent.id, _origin(), remix_prompt="a nude child")


async def _upscaled(service: JobServices, width: int = 64, height: int = 64):
    """A finished U-job (one image of the given size) of user 1."""
    grid = await _finished(service)
    job = await service.children.child("u", 2, grid.id, _origin())
    await service.worker.claim_next("w")
    await service.worker.finish(job.id, [StoredImage(1, f"{2:064x}", width, height, 43)], [43], 0)
    return job


async def test_zoom_pan_and_square_children_record_what_the_worker_must_do(service):
    single = await _upscaled(service, 96, 64)
    zoomed = await service.children.child("z2", 1, single.id, _origin())
    assert (zoomed.action, zoomed.zoom, zoomed.parent_index) == (JobAction.ZOOM_OUT, 2.0, 1)
    half = await service.children.child("zh", 1, single.id, _origin())
    assert half.zoom == 1.5
    await service.controls.cancel(zoomed.id, _origin())  # room in the queue (the limit here is 2)
    custom = await service.children.child("zc", 1, single.id, _origin(), zoom=1.25)
    assert custom.zoom == 1.25
    with pytest.raises(JobUnavailable, match=r"between 1.0 and 2.0, got 2.5"):
        await service.children.child("zc", 1, single.id, _origin(), zoom=2.5)


async def test_pan_and_square_are_refused_when_they_cannot_apply(service):
    square = await _upscaled(service, 64, 64)
    with pytest.raises(JobUnavailable, match="already square"):
        await service.children.child("sq", 1, square.id, _origin())
    huge = await _upscaled(service, 192, 192)  # panned: 288x192, over 9 x 64 x 64 pixels
    with pytest.raises(JobUnavailable, match="over this model's limit"):
        await service.children.child("pl", 1, huge.id, _origin())


async def test_an_upscaled_image_is_not_upscaled_again(service):
    single = await _upscaled(service)
    twice = await service.children.child("uc", 1, single.id, _origin())
    assert twice.action == JobAction.UPSCALE_CREATIVE
    await service.worker.claim_next("w")
    await service.worker.finish(twice.id, [StoredImage(1, f"{3:064x}", 128, 128, 1)], [1], 0)
    with pytest.raises(JobUnavailable, match="already upscaled"):
        await service.children.child("us", 1, twice.id, _origin())


async def test_upscales_past_the_largest_side_or_with_upscaling_off_are_refused(service):
    huge, single = await _upscaled(service, 1536, 1024), await _upscaled(service)
    with pytest.raises(JobUnavailable, match=r"pass 4096 px a side.*Upscale \(Subtle\)"):
        await service.children.child("u4", 1, huge.id, _origin())
    assert (await service.children.child("us", 1, huge.id, _origin())).action == "upscale_subtle"
    service.intake.presets["tiny"] = replace(service.intake.presets["tiny"], upscaler="off")
    with pytest.raises(JobUnavailable, match=r"Upscaling is off.*IMAGINEBOT_UPSCALER"):
        await service.children.child("us", 1, single.id, _origin())


async def test_reroll_of_a_pan_grid_pans_the_same_image_again(service):
    single = await _upscaled(service, 64, 64)
    panned = await service.children.child("pr", 1, single.id, _origin())
    await service.worker.claim_next("w")
    images = [StoredImage(i, f"{i:064x}", 96, 64, None if i == 0 else i) for i in range(5)]
    await service.worker.finish(panned.id, images, [1, 2, 3, 4], 0.1)
    again = await service.children.child("r", 0, panned.id, _origin())
    assert (again.action, again.parent_id, again.parent_index) == (
        JobAction.PAN_RIGHT,
        single.id,
        1,
    )


async def test_a_remix_submitted_unchanged_is_a_normal_variation(service):
    parent = await _finished(service)
    child = await service.children.child(
        "v", 3, parent.id, _origin(), remix_prompt=f" {parent.prompt} "
    )
    assert (child.prompt, child.request) == (parent.prompt, parent.request)
    assert (child.action, child.parent_index) == (JobAction.VARIATION, 3)


def _fetcher(tmp_path) -> ImageFetcher:
    limits = FetchLimits(frozenset({"127.0.0.1"}), 1024 * 1024, 4096 * 4096, 5.0)
    return ImageFetcher(limits, ImageStore(tmp_path / "images"))


async def test_an_image_prompt_is_downloaded_once_for_all_its_permutations(
    service, image_server, tmp_path
):
    service.intake.images = _fetcher(tmp_path)
    url = image_server.add_bytes("fox.png", png_of(gradient()))
    jobs = await service.imagine.imagine(f"{url} a {{red, blue}} fox --iw 2", _origin())
    assert len(jobs) == 2 and image_server.hits["fox.png"] == 1
    [digest] = jobs[0].prompt_images
    assert jobs[1].prompt_images == [digest]
    assert (await service.jobs.get(jobs[1].id)).prompt_images == [digest]
    assert service.intake.images.store.path(digest, "png").exists()


async def test_a_reroll_keeps_the_stored_images_and_a_remix_downloads_new_links(
    service, image_server, tmp_path
):
    service.intake.images = _fetcher(tmp_path)
    fox = image_server.add_bytes("fox.png", png_of(gradient()))
    owl = image_server.add_bytes("owl.png", png_of(gradient(30, 30)))
    [parent] = await service.imagine.imagine(f"{fox} a fox", _origin())
    claimed = await service.worker.claim_next("w")
    images = [StoredImage(i, f"{i:064x}", 64, 64, None if i == 0 else i) for i in range(5)]
    await service.worker.finish(claimed.id, images, [1, 2, 3, 4], 0.1)
    reroll = await service.children.child("r", 0, parent.id, _origin())
    assert reroll.prompt_images == parent.prompt_images and image_server.hits["fox.png"] == 1
    remix = await service.children.child("r", 0, parent.id, _origin(), remix_prompt=f"{owl} an owl")
    assert image_server.hits["owl.png"] == 1
    assert len(remix.prompt_images) == 1 and remix.prompt_images != parent.prompt_images
    await service.worker.claim_next("w")
    variation = await service.children.child("v", 1, parent.id, _origin())
    assert variation.prompt_images == []  # a variation starts from the grid image


async def test_a_bad_image_prompt_is_an_invalid_parameter_naming_the_link(
    service, image_server, tmp_path
):
    service.intake.images = _fetcher(tmp_path)
    missing = image_server.url("gone.png")
    with pytest.raises(InvalidParameter) as info:
        await service.imagine.imagine(f"{missing} a fox", _origin())
    assert info.value.code == "image_http" and missing in info.value.description
    assert await service.jobs.for_user(1) == []


async def test_image_prompts_are_refused_when_the_bot_cannot_download_them(service):
    with pytest.raises(InvalidParameter, match="not available") as info:
        await service.imagine.imagine("https://cdn.discordapp.com/a.png a fox", _origin())
    assert info.value.code == "image_prompts_off"
