"""Shared test setup: one intra-op thread (on a shared 2-core box, OpenMP spin-waits against a busy
core make small tensor ops ~100× slower with 2 threads)."""

import torch

torch.set_num_threads(1)
