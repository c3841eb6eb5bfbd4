"""Keep freed memory in the process on Linux, so CPU training stops paying page faults.

glibc hands freed heap memory back to the kernel once more than 128 KiB sits unused at the top
of the heap. A meta-training step frees and re-allocates weight-sized temporaries (task
gradients, adapted weights) all the time, so every step faults the same pages back in, zeroed:
about 480 page faults per MLP step, 2.9 ms of 26 ms for Meta-ticket and 0.6 ms for MAML
(benchmarks/step_time.py). Raising the trim threshold keeps those pages, as jemalloc and
tcmalloc do; the process keeps its peak heap, which it needs again next step anyway.

Setting it also freezes glibc's sliding mmap threshold at 128 KiB, which would send every
larger tensor to its own mmap (conv4 at 28x28: 336,000 faults per step, 1.6 times slower), so
the mmap threshold is pinned at the top of its sliding range, 32 MiB, at the same time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# glibc's mallopt parameter numbers and the values set
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
TRIM_THRESHOLD, MMAP_THRESHOLD = 1 << 30, 32 << 20


def keep_freed_memory() -> bool:
    """Raise glibc's trim and mmap thresholds; False where there is no glibc (macOS, Windows,
    musl), which leaves everything as it was."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        )
    except (OSError, AttributeError):
        return False
