"""The composition root: the `kvpareto` command line with the service's answers on it.

`calibration` and `service` never import each other; this package imports both (never a model
runtime) and registers `frontier`, `recommend` and `capacity` on the calibration CLI's app.
"""
