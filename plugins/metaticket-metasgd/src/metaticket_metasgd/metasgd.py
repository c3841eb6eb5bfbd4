"""Meta-SGD (Li et al. 2017) and Meta-ticket with meta-learned inner rates.

Meta-SGD meta-learns phi_0 together with alpha, one inner learning rate per parameter *entry*
(a tensor shaped like each parameter), so the inner update phi - alpha (.) grad L learns both a
step size and a direction. The rates start at the config's ``inner_lr`` (so step 0 is MAML) and
are unconstrained, as in the paper.

``metaticket+metasgd`` is Meta-SGD made a ticket by core's ``Ticket`` mixin (DESIGN.md section
3): prunable weights re-drawn Kaiming-normal, phi_0 never meta-trained, one Kaiming-uniform score
per prunable weight, m = 1[s >= sigma] with sigma fixed per tensor at the ``p_init`` quantile of
the initial scores (a method option), straight-through gradient to the scores. The
meta-parameters are the scores and the rates. Its outer optimizer defaults to Adam 1e-3, not Meta-ticket's SGD lr 10:
one optimizer updates both, and a step of 10 would throw rates of order ``inner_lr`` far off.

Everything else (the inner loop, outer loss, evaluation) is core's ``FunctionalLearner``.
"""

from __future__ import annotations

import torch
from torch import nn

from metaticket_core import (
    Backbone,
    FunctionalLearner,
    OuterDefaults,
    Params,
    RunConfig,
    Task,
    Ticket,
    attribute_key,
)


class MetaSGD(FunctionalLearner):
    """phi_0 and a per-entry inner learning rate for every backbone parameter, meta-learned."""

    outer_defaults = OuterDefaults(optimizer="adam", lr=1e-3)

    def __init__(self, backbone: Backbone, config: RunConfig):
        super().__init__(backbone, config)
        self.rates = nn.ParameterDict(
            {
                attribute_key(n): nn.Parameter(torch.full_like(p.detach(), self.inner_lr))
                for n, p in backbone.named_parameters()
            }
        )

    def meta_parameters(self) -> list[nn.Parameter]:
        return list(self.backbone.parameters()) + list(self.rates.values())

    def inner_rates(self) -> Params:
        """The learned alpha, by backbone parameter name."""
        return {n: self.rates[attribute_key(n)] for n in self.names}

    def outer_loss(
        self, tasks: list[Task], diagnostics: bool = False
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Core's, with the mean rate of each parameter (``rate/<parameter>``), left on the
        device as core's are."""
        loss, metrics = super().outer_loss(tasks, diagnostics)
        rates = self.inner_rates()
        means = torch.stack([r.detach().mean() for r in rates.values()])
        return loss, metrics | {f"rate/{n}": m for n, m in zip(rates, means, strict=True)}


class MetaTicketSGD(Ticket, MetaSGD):
    """Scores of the prunable weights and per-entry inner rates over a fixed random network:
    core's ticket on Meta-SGD, whose meta-parameters are then the scores and the rates."""

    def __init__(self, backbone: Backbone, config: RunConfig, p_init: float = 0.0):
        super().__init__(backbone, config)
        self.make_ticket(backbone.names_with("prunable"), p_init=p_init)


def metasgd(backbone: Backbone, config: RunConfig) -> MetaSGD:
    """Meta-SGD: meta-learn phi_0 and a per-entry inner learning rate (Li et al. 2017)."""
    return MetaSGD(backbone, config)


def metaticket_metasgd(
    backbone: Backbone, config: RunConfig, *, p_init: float = 0.0
) -> MetaTicketSGD:
    """Meta-ticket with Meta-SGD rates: scores and per-entry inner rates over a random net."""
    return MetaTicketSGD(backbone, config, p_init)
