"""Test-wide settings for every package's tests.

The tests use tiny tensors, for which torch's thread pool costs more than it gives (about 10x
slower on a busy 2-core machine); subprocesses inherit the setting.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
