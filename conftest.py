"""Test-wide settings and test order for every package's tests.

The tests use tiny tensors, for which torch's thread pool costs more than it gives (about 10x
slower on a busy 2-core machine); subprocesses inherit the setting. Output is not a terminal
(pytest-xdist's workers least of all): rich would fall back to 80 columns and cut the tables
the tests read, so they get 200 unless a test sets its own width.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("COLUMNS", "200")


def pytest_collection_modifyitems(items):
    """Tests marked ``slow`` (they start processes) first, so that pytest-xdist's workers share
    them out from the start instead of one worker finishing them alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
