# bedflow image: Debian bookworm (Python 3.11 for bpy, Debian's OpenFOAM v1912, Mesa/EGL for rendering).
# The same scripts/setup.sh that `make` runs installs everything, so CI exercises these steps.
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    VENV=/opt/bedflow/.venv \
    PYTHON=/usr/bin/python3.11 \
    EXTRAS= \
    BEDFLOW_DATA_DIR=/data \
    PATH=/opt/bedflow/.venv/bin:$PATH

RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends python3.11 python3.11-venv python3.11-dev make ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/bedflow
COPY . .
RUN bash scripts/setup.sh && rm -rf /var/lib/apt/lists/* /root/.cache \
 && useradd --create-home --uid 1000 bedflow && mkdir -p /data && chown bedflow /data

USER bedflow
VOLUME ["/data"]
CMD ["bedflow", "demo"]
