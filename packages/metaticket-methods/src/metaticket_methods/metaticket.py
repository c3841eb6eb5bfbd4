"""Meta-ticket: meta-learn a binary mask over a fixed random network (Chijiwa et al. 2022).

The ticket itself (re-drawn weights, scores, thresholds, masks, IteRand, constant init) is
core's ``metaticket_core.Ticket``; here it rides on the fused learner, and each method
says which weights are masked, which are frozen in the inner loop (BOIL: the head) and which
stay MAML-trained (regression). The masked weights of the naive sinusoid variant keep the
backbone's own init.

Constant init (paper 4.1.2): every masked weight, the head's too, is its layer's Kaiming std
gain / sqrt(fan_in) times ``constant_init``, and biases are 0, so only the mask carries
information.

Settings are method options (``method_options`` in a config; ``TICKET_OPTIONS``): each factory
takes those of its method as keyword arguments, so that an unknown one is refused by name.
"""

from __future__ import annotations

from collections.abc import Collection

from metaticket_core import Backbone, IteRand, OuterDefaults, RunConfig, Ticket

from .base import FusedLearner


class MetaTicket(Ticket, FusedLearner):
    """Scores over the ``masked`` weights; ``meta_trained`` names stay MAML-trained parameters
    (regression variant); ``frozen`` names get inner rate 0 (BOIL: the head)."""

    outer_defaults = OuterDefaults(
        optimizer="sgd", lr=10.0, momentum=0.9, schedule="cosine", warmup=1000
    )

    def __init__(
        self,
        backbone: Backbone,
        config: RunConfig,
        *,
        masked: Collection[str],
        meta_trained: Collection[str] = (),
        frozen: Collection[str] = (),
        p_init: float = 0.0,
        constant_init: float | None = None,
        iterand: IteRand | None = None,
        redraw: bool = True,
    ):
        super().__init__(backbone, config, frozen)
        self.make_ticket(
            masked,
            meta_trained=meta_trained,
            p_init=p_init,
            constant_init=constant_init,
            iterand=iterand,
            redraw=redraw,
        )


class MetaTicketRegression(MetaTicket):
    """The sinusoid variants (paper appendix C): scores and any MAML-trained layers with Adam."""

    outer_defaults = OuterDefaults(optimizer="adam", lr=1e-3)


def _masked(backbone: Backbone, constant_init: float | None) -> list[str]:
    """The prunable weights; under constant init the head's weight too (otherwise every class
    would start identical), as in the authors' constant-init runs."""
    if constant_init is None:
        return backbone.names_with("prunable")
    return backbone.names_with("prunable") + _head_weights(backbone)


def _head_weights(backbone: Backbone) -> list[str]:
    biases = set(backbone.names_with("bias"))
    return [n for n in backbone.names_with("head") if n not in biases]


def _ticket(
    backbone: Backbone,
    config: RunConfig,
    frozen: Collection[str],
    p_init: float,
    constant_init: float | None,
    iterand: IteRand | None = None,
) -> MetaTicket:
    """The classification variants: every prunable weight masked (the head too under constant
    init), ``frozen`` names not adapted."""
    masked = _masked(backbone, constant_init)
    return MetaTicket(
        backbone,
        config,
        masked=masked,
        frozen=frozen,
        p_init=p_init,
        constant_init=constant_init,
        iterand=iterand,
    )


def metaticket(
    backbone: Backbone,
    config: RunConfig,
    *,
    p_init: float = 0.0,
    constant_init: float | None = None,
) -> MetaTicket:
    """Meta-ticket: meta-learn a sparse subnetwork of a fixed random network."""
    return _ticket(backbone, config, (), p_init, constant_init)


def metaticket_boil(
    backbone: Backbone,
    config: RunConfig,
    *,
    p_init: float = 0.0,
    constant_init: float | None = None,
) -> MetaTicket:
    """Meta-ticket with the random head frozen in the inner loop (BOIL)."""
    return _ticket(backbone, config, backbone.names_with("head"), p_init, constant_init)


def metaticket_iterand(
    backbone: Backbone,
    config: RunConfig,
    *,
    p_init: float = 0.0,
    constant_init: float | None = None,
    iterand_period: int = 1000,
    iterand_rate: float = 1.0,
) -> MetaTicket:
    """Meta-ticket with iterative randomisation of pruned weights (IteRand)."""
    iterand = IteRand(iterand_period, iterand_rate)
    return _ticket(backbone, config, (), p_init, constant_init, iterand)


def metaticket_boil_iterand(
    backbone: Backbone,
    config: RunConfig,
    *,
    p_init: float = 0.0,
    constant_init: float | None = None,
    iterand_period: int = 1000,
    iterand_rate: float = 1.0,
) -> MetaTicket:
    """Meta-ticket with a frozen head in the inner loop and IteRand."""
    iterand = IteRand(iterand_period, iterand_rate)
    return _ticket(backbone, config, backbone.names_with("head"), p_init, constant_init, iterand)


def metaticket_reg(
    backbone: Backbone,
    config: RunConfig,
    *,
    p_init: float = 0.0,
    constant_init: float | None = None,
    iterand_period: int = 1000,
    iterand_rate: float = 1.0,
) -> MetaTicketRegression:
    """Regression Meta-ticket: hidden layers masked, with IteRand (the authors' sinusoid runs;
    ``iterand_rate=0`` turns it off); input/output layers and biases MAML-trained."""
    inputs = set(backbone.names_with("input"))
    masked = [n for n in backbone.names_with("prunable") if n not in inputs]
    trained = [n for n, _ in backbone.named_parameters() if n not in masked]
    return MetaTicketRegression(
        backbone,
        config,
        masked=masked,
        meta_trained=trained,
        p_init=p_init,
        constant_init=constant_init,
        iterand=IteRand(iterand_period, iterand_rate),
    )


def metaticket_reg_naive(
    backbone: Backbone,
    config: RunConfig,
    *,
    p_init: float = 0.0,
    constant_init: float | None = None,
) -> MetaTicketRegression:
    """Naive regression Meta-ticket: every layer's weight masked (output too), nothing trained.
    The masked weights keep the backbone's own init: Kaiming-normal ones make the 5-step inner
    loop at lr 0.01 diverge (the 1-input layer gets std sqrt(2)), so they would fail the run,
    not the method."""
    masked = backbone.names_with("prunable") + _head_weights(backbone)
    return MetaTicketRegression(
        backbone, config, masked=masked, p_init=p_init, constant_init=constant_init, redraw=False
    )
