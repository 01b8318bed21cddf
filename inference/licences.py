"""The licences of the model weights a deployment serves: restricted ones (non-commercial,
gated) load only once the owner has accepted them. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from inference.presets import Preset


def check_licences(presets: Mapping[str, Preset], accepted: Sequence[str]) -> None:
    """ValueError naming each restricted preset served whose licence the owner has not
    accepted (IMAGINEBOT_ACCEPT_LICENCES: preset names, or "all"), and how to accept it."""
    pending = [p for p in presets.values() if p.restricted and not {p.name, "all"} & set(accepted)]
    if pending:
        terms = "; ".join(f"{p.name}: {p.licence}" for p in pending)
        names = ",".join(p.name for p in pending)
        raise ValueError(
            f"the weights of {names} are under licences that restrict their use ({terms}). "
            f"Read them on the models' pages, then accept with IMAGINEBOT_ACCEPT_LICENCES={names}"
            " (or serve other presets)"
        )
