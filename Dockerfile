# The HTTP API under granian, on SQLite in /data unless DATABASE_URL says otherwise; compose.yaml puts nginx in
# front of it (deploy/nginx/tms.conf) and publishes only nginx. Untested here: these machines run no Docker engine.

FROM python:3.12-slim AS build
# durable-rules is a C extension built from source: the compiler stays in this stage.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml setup.cfg README.md ./
COPY eligibility/ eligibility/
COPY api/ api/
COPY services/ services/
COPY storage/ storage/
COPY rules/ rules/
# Installed as the README does (editable): the domain finds rules/ beside its package.
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir -e .

FROM python:3.12-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMS_HOST=0.0.0.0 \
    TMS_PORT=8000 \
    TMS_INSTANCE_PATH=/data
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin app \
    && mkdir /data && chown app /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
USER app
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('TMS_PORT', '8000') + '/healthz', timeout=2)"]
# Migrates the database, then replaces itself with the HTTP server, which gets the signals. It never makes
# first-run keys (they would sit in /data for anyone with the volume): make keys with
# `docker compose exec app tms-eligibility keys create --role ... --name ...`.
CMD ["tms-eligibility", "serve", "--no-initial-keys"]
