"""Calibration: runs real quantized inference to measure memory and accuracy (imports torch lazily)."""
