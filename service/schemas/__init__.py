"""API schemas, split by role: shared parts, request bodies, response bodies.

Requests forbid unknown fields, so a misspelt field is a 422 rather than a silent default.
"""
