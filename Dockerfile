# kvpareto prediction service: models/ + service/ only, no torch (no `calibration` extra).
# BASE: python:3.11-slim from Docker Hub. Where Docker Hub cannot be reached,
# `python scripts/docker_image.py build` makes localhost/kvpareto-base:bookworm from Debian
# packages (bookworm's Python 3.11 in a venv on PATH) and builds with it as BASE.
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# README.m[d]: the glob lets the build work before the README exists
COPY pyproject.toml README.m[d] ./
COPY models ./models
COPY service ./service
COPY calibration ./calibration
COPY kvpareto ./kvpareto
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 kvpareto \
    && rm -rf /src

USER 10001
WORKDIR /home/kvpareto
EXPOSE 8000
# artifacts: mount a folder and set KVPARETO_ARTIFACT_DIR (default: inside the installed package)
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
# connection limits as in the Makefile's UVICORN_LIMITS (README: Service)
CMD ["uvicorn", "--factory", "service.main:create_app", "--host", "0.0.0.0", "--port", "8000", \
     "--workers", "2", "--timeout-keep-alive", "5", "--limit-concurrency", "256", "--backlog", "512", \
     "--h11-max-incomplete-event-size", "16384"]
