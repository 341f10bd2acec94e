"""kvpareto analytical core: specs, space, memory ledger, accuracy model, frontier.

Pure Python/numpy/scipy: never imports torch.
"""
