# bedflow image: Debian bookworm (Python 3.11 for bpy, Debian's OpenFOAM v1912, Mesa/EGL for headless rendering).
# One image, two roles, chosen by the command:
#   bedflow serve --address 0.0.0.0      the dashboard and GET /health (the default command; needs BEDFLOW_AUTH)
#   bedflow worker -w N                  a Huey consumer running queued stages (serves no HTTP)
# The install steps are scripts/setup.sh's, the same that `make` (and so CI) runs, one layer per step and
# ordered by how often their inputs change: Debian packages, then the Python dependencies (the lock
# file only), then the source. A source edit rebuilds the last layers only.
FROM docker.io/library/debian:12.12-slim

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VENV=/opt/bedflow/.venv \
    PYTHON=/usr/bin/python3.11 \
    EXTRAS= \
    BEDFLOW_DATA_DIR=/data \
    PORT=5006 \
    NUMBA_CACHE_DIR=/opt/bedflow/numba-cache \
    OMPI_MCA_btl_vader_single_copy_mechanism=none \
    PATH=/opt/bedflow/.venv/bin:$PATH
# EXTRAS= (empty): runtime only, no test packages. PORT: the port `bedflow serve` listens on unless --port says
# otherwise; platforms such as Railway set their own at run time. OMPI_MCA_...=none: Open MPI's shared-memory
# single copy needs ptrace rights a container does not have; without it `mpirun` solves fail.

WORKDIR /opt/bedflow

# 1. Debian packages (change rarely) and the user the container runs as.
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh apt \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 --shell /usr/sbin/nologin bedflow \
 && install -d -o bedflow -g bedflow /data

# 2. Python dependencies: every package locked with its hashes (requirements/runtime.txt), read without the source.
COPY requirements/runtime.txt requirements/runtime.txt
RUN bash scripts/setup.sh python-deps

# 3. The source (changes often), installed without dependencies; the native packer's numba functions compiled
#    here, once, into NUMBA_CACHE_DIR (numba cannot write beside the root-owned source at run time, so every
#    container would compile them again), left writable by the user the container runs as.
COPY . .
RUN bash scripts/setup.sh project \
 && bedflow pack examples/small_spheres.bed --out /tmp/numba-warm-up --json > /dev/null \
 && rm -rf /tmp/numba-warm-up \
 && chown -R 1000:1000 "$NUMBA_CACHE_DIR"

# Numeric, so a runtime can tell it is not root without reading the image's /etc/passwd (runAsNonRoot).
USER 1000:1000
EXPOSE 5006
# SIGINT is the graceful stop of both roles: the worker finishes its running stages, the server closes.
STOPSIGNAL SIGINT
# The web role's /health (database, store, queue). A worker serves no HTTP: its compose service replaces this with
# `bedflow health`, which runs the same checks in-process. `|| exit 1`: Docker reserves exit code 2.
HEALTHCHECK --interval=30s --timeout=15s --start-period=2m --retries=3 \
    CMD ["/bin/sh", "-c", "bedflow health --url \"http://127.0.0.1:${PORT}/health\" --timeout 10 || exit 1"]
CMD ["bedflow", "serve", "--address", "0.0.0.0"]
