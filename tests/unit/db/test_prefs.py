from __future__ import annotations

from db import Prefs, PrefsRepository


async def test_a_new_user_has_the_built_in_defaults(sessions):
    assert await PrefsRepository(sessions).get(5) == Prefs()


async def test_choices_are_stored_per_user_and_survive_other_changes(sessions):
    prefs = PrefsRepository(sessions)
    await prefs.set_model(1, "sdxl-turbo")
    await prefs.set_remix(1, True)
    await prefs.set_stealth(1, True)
    await prefs.set_setting(1, "stylize", 250)
    await prefs.set_suffix(1, "--ar 3:2")
    mine = await prefs.get(1)
    assert (mine.model, mine.remix, mine.stealth) == ("sdxl-turbo", True, True)
    assert mine.settings == {"stylize": 250} and mine.suffix == "--ar 3:2"
    assert await prefs.get(2) == Prefs()
    await prefs.set_model(1, None)
    await prefs.set_remix(1, False)
    assert (await prefs.get(1)).model is None and not (await prefs.get(1)).remix


async def test_forget_erases_everything(sessions):
    prefs = PrefsRepository(sessions)
    await prefs.set_stealth(3, True)
    await prefs.forget(3)
    assert await prefs.get(3) == Prefs()
