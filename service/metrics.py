"""Prometheus metrics of one app instance (own registry, so several apps can live in a test).

Request counts and latencies are labelled by route template, never by raw path.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kvpareto_requests", "HTTP requests", ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "kvpareto_request_seconds", "HTTP request latency", ["method", "route"],
            buckets=BUCKETS, registry=self.registry,
        )
        self.artifacts = Gauge(
            "kvpareto_artifacts_loaded", "calibration artifacts loaded", registry=self.registry
        )
        self.reloads = Counter(
            "kvpareto_reloads", "artifact reloads", ["outcome"], registry=self.registry
        )
