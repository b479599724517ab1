# syntax=docker/dockerfile:1
# The Ollama Workshop Platform as one container.
#   docker build -t workshop .                      # the platform; point OLLAMA_HOST at your Ollama
#   docker build -t workshop-ollama --target with-ollama .   # the platform and Ollama in one image
#   docker run --init -p 8080:8080 -v workshop-data:/data workshop
#
# Every image is pinned to a release tag. To upgrade one, bump its tag here (the Ollama tag also in
# docker-compose.yml: tests/unit/test_image_lint.py checks they match), rebuild, and restart: the platform applies
# pending database migrations when it starts. See docs/deployment.md, "Upgrading the images".

FROM python:3.11.15-slim-bookworm AS platform
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
# the user the platform runs as, with /data as its home: it may write /data and nothing else (the code below stays
# root's, read-only to it). app.py puts NiceGUI's storage into DATA_DIR/storage.
RUN useradd --no-create-home --home-dir /data --uid 10001 --user-group workshop \
    && mkdir -p /data \
    && chown 10001:10001 /data
WORKDIR /app
# dependencies first, so code changes do not reinstall them (the image's own pip: no unpinned upgrade)
COPY pyproject.toml README.md ./
# the project itself: its dependencies are pinned (to compatible ranges) in pyproject.toml
# hadolint ignore=DL3013
RUN pip install '.[postgres,redis]'
COPY . .
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080
# liveness only: /health answers while Ollama or the vector store is down (readiness is /health/ready)
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8080\")}/health', timeout=4).status != 200)"]
# `docker stop` sends SIGTERM: the server stops accepting, finishes requests in flight (up to SHUTDOWN_TIMEOUT
# seconds), closes the database and exits with 0
STOPSIGNAL SIGTERM
CMD ["python", "app.py"]


# Ollama's binary and libraries, copied from the official image
FROM ollama/ollama:0.32.15 AS ollama-official

FROM platform AS with-ollama
USER 0:0
COPY --from=ollama-official /usr/bin/ollama /usr/bin/ollama
COPY --from=ollama-official /usr/lib/ollama /usr/lib/ollama
RUN pip install 'supervisor==4.3.0' && mkdir -p /data/ollama && chown -R 10001:10001 /data
COPY docker/supervisord.conf /etc/supervisord.conf
# the platform talks to the bundled Ollama; Ollama keeps its models (and its key, under $HOME) in the data volume
ENV OLLAMA_HOST=http://127.0.0.1:11434 \
    OLLAMA_MODELS=/data/ollama
EXPOSE 8080
USER 10001:10001
CMD ["supervisord", "-c", "/etc/supervisord.conf"]
