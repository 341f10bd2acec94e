"""Shared test setup: one intra-op thread (see tests/calibration/kvcache/conftest.py)."""

import torch

torch.set_num_threads(1)
