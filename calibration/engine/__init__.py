"""Inference engine: chunked prefill + greedy decode, AWQ int4 weights, peak-memory probe.

Imports torch and transformers; the analytical `models/` package never imports this.
"""
