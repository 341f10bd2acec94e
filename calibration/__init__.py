"""Calibration: runs real quantized inference to measure memory and accuracy.

Imports torch lazily: the torch-free CLI commands work without it.
"""
