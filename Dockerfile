# syntax=docker/dockerfile:1
# The Ollama Workshop Platform as one container.
#   docker build -t workshop .                      # the platform; point OLLAMA_HOST at your Ollama
#   docker build -t workshop-ollama --target with-ollama .   # the platform and Ollama in one image
#   docker run -p 8080:8080 -v workshop-data:/data workshop

FROM python:3.11-slim-bookworm AS platform
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
RUN useradd --create-home --uid 10001 workshop \
    && mkdir -p /data /app \
    && chown workshop:workshop /data /app
WORKDIR /app
# dependencies first, so code changes do not reinstall them
COPY pyproject.toml README.md ./
RUN pip install --upgrade pip && pip install '.[postgres]'
COPY --chown=workshop:workshop . .
USER workshop
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4).status != 200)"]
CMD ["python", "app.py"]


# Ollama's binary and libraries, copied from the official image
FROM ollama/ollama:latest AS ollama-official

FROM platform AS with-ollama
USER root
COPY --from=ollama-official /usr/bin/ollama /usr/bin/ollama
COPY --from=ollama-official /usr/lib/ollama /usr/lib/ollama
RUN pip install 'supervisor>=4.2,<5' && mkdir -p /data/ollama && chown -R workshop:workshop /data
COPY docker/supervisord.conf /etc/supervisord.conf
# the platform talks to the bundled Ollama; Ollama keeps its models in the data volume
ENV OLLAMA_HOST=http://127.0.0.1:11434 \
    OLLAMA_MODELS=/data/ollama
EXPOSE 8080
USER workshop
CMD ["supervisord", "-c", "/etc/supervisord.conf"]
