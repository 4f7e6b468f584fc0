#!/usr/bin/env python3
"""h5py's raw read throughput of one shard's /images/rgb: one sample per
read (as a loader reads), gzip decoding by libhdf5, no augmentation.
Prints 'samples_per_s <value>'."""
import sys
import time

import h5py

path, repeats = sys.argv[1], int(sys.argv[2])
with h5py.File(path, "r") as f:
    d = f["images/rgb"]
    n = d.shape[0]
    d[0]  # warm-up
    start = time.perf_counter()
    checksum = 0
    for _ in range(repeats):
        for i in range(n):
            checksum += int(d[i][0, 0, 0])
    secs = time.perf_counter() - start
print(f"samples_per_s {repeats * n / secs:.1f} checksum {checksum}")
