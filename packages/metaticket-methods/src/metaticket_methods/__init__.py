"""metaticket methods: the fused inner loop and the MAML and Meta-ticket meta-learners."""

from .inner import inner_loop
from .maml import MAML
from .metaticket import MetaTicket, MetaTicketRegression

__all__ = ["MAML", "MetaTicket", "MetaTicketRegression", "inner_loop"]
