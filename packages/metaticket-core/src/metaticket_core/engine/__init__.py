"""The engine: what runs a config (building the experiment, the trainer, evaluation, checkpoints,
run folders and their locks, loggers, distributed ranks, prefetching, threads, progress, the
allocator setting) and core's own plugin, the built-in loggers.

Its modules import ``api`` and one another, never ``app``.
"""
