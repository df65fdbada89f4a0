# syntax=docker/dockerfile:1
# MiniTower in one image: minitowerd, minitower-runner, minitower-cli and the
# web UI. Stage "ui" builds the UI with Node 20, stage "build" the C programs
# with the same make commands a developer uses, and the runtime stage is a
# slim Debian with the shared libraries plus python3 and venv for jobs.
# docker-compose.yml runs the server and two runners from this image.

FROM node:20-bookworm-slim AS ui
RUN apt-get update \
 && apt-get install -y --no-install-recommends make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY frontend/package.json frontend/package-lock.json frontend/.npmrc frontend/
RUN npm --prefix frontend ci --no-audit --no-fund
COPY Makefile ./
COPY frontend/ frontend/
RUN make ui

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config \
      libmicrohttpd-dev libsqlite3-dev libjansson-dev libcurl4-openssl-dev \
      libarchive-dev libsodium-dev libcrypt-dev libicu-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY scripts/ scripts/
COPY src/ src/
RUN make -j"$(nproc)" all

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
      libmicrohttpd12 libsqlite3-0 libjansson4 libcurl4 libarchive13 \
      libsodium23 libcrypt1 libicu72 tzdata python3 python3-venv bubblewrap \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/minitower \
      --shell /usr/sbin/nologin minitower \
 && install -d -o minitower -g minitower -m 0700 /var/lib/minitower \
      /var/lib/minitower-runner
COPY --from=build /src/bin/minitowerd /src/bin/minitower-runner /src/bin/minitower-jobinit \
     /src/bin/minitower-cli /usr/local/bin/
COPY --from=ui /src/frontend/dist/ /usr/local/share/minitower/ui/
ENV MINITOWER_LISTEN_ADDR=:8080 \
    MINITOWER_DB_PATH=/var/lib/minitower/minitower.db \
    MINITOWER_OBJECTS_DIR=/var/lib/minitower/objects \
    MINITOWER_UI_DIR=/usr/local/share/minitower/ui \
    MINITOWER_DATA_DIR=/var/lib/minitower-runner \
    MINITOWER_PYTHON_BIN=/usr/bin/python3 \
    LANG=C.UTF-8
USER minitower
WORKDIR /var/lib/minitower
EXPOSE 8080
CMD ["minitowerd"]
