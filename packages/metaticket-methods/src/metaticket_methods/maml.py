"""MAML and the variants that differ only in which parameters the inner loop moves.

All of phi_0 is meta-learned and keeps the backbone's own initialisation. ANIL adapts only the
head in the inner loop (feature reuse), BOIL everything but the head (rapid learning).
"""

from __future__ import annotations

from metaticket_core import Backbone, OuterDefaults, RunConfig

from .base import FusedLearner


class MAML(FusedLearner):
    """Meta-learns the initial parameters phi_0 (core's default ``meta_parameters``);
    ``frozen`` names get inner rate 0."""

    outer_defaults = OuterDefaults(optimizer="adam", lr=1e-3)


def maml(backbone: Backbone, config: RunConfig) -> MAML:
    """MAML: meta-learn the whole initialisation, adapt all of it (Finn et al. 2017)."""
    return MAML(backbone, config)


def anil(backbone: Backbone, config: RunConfig) -> MAML:
    """ANIL: MAML with only the head adapted in the inner loop (Raghu et al. 2020)."""
    head = set(backbone.names_with("head"))
    return MAML(
        backbone, config, frozen=[n for n, _ in backbone.named_parameters() if n not in head]
    )


def boil(backbone: Backbone, config: RunConfig) -> MAML:
    """BOIL: MAML with the head frozen in the inner loop (Oh et al. 2021)."""
    return MAML(backbone, config, frozen=backbone.names_with("head"))
