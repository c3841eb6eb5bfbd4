"""The application: the ``mt`` CLI and its commands, and what they offer beyond one run
(inference, ticket export, plots, sweeps and their jobs, the paper's reproduction) plus the test
helpers that run the CLI in-process.

The top layer: its modules may import ``api`` and ``engine``; nothing below imports it.
"""
