# One image for every process of the bot: `web`, `worker`, `socket` and the release step
# (`migrate`); the command picks which (see compose.yaml). Small: python slim, no compiler,
# no pip cache; the runtime dependencies come from the hashed lock file (requirements.txt).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# The lock first: a code change then reuses this layer instead of reinstalling everything.
COPY requirements.txt .
RUN /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r requirements.txt
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY handlers ./handlers
COPY messages ./messages
COPY migrations ./migrations
RUN /opt/venv/bin/pip install --no-deps --no-compile . \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=3000
# Never root: a fixed unprivileged uid that owns nothing but its home.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/mlops mlops
COPY --from=build /opt/venv /opt/venv
WORKDIR /home/mlops
USER 10001:10001
EXPOSE 3000
ENTRYPOINT ["mlops-bot"]
CMD ["web"]
