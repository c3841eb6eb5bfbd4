"""The plugin API: what plugins build on (errors, hooks, registries, the run config, tasks and
datasets, backbones, learners and the functional inner loop, Meta-ticket's masks, the outer
optimizer's settings) and the plugin manager that loads them.

The lowest layer: its modules import one another and no module of ``engine`` or ``app``.
``metaticket_core`` exports its public names.
"""
