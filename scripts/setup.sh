#!/usr/bin/env bash
# Installs everything bedflow needs on a Debian 12 machine, idempotently, in three steps:
#   apt          Debian packages (OpenFOAM v1912, Mesa/EGL for headless rendering, Blender's X libs, Chromium,
#                Python 3.11; with EXTRAS=test,lab, the default, also the test tools and JupyterLab);
#   python-deps  a virtual environment in $VENV with every Python package from a lock file (requirements/,
#                pinned with hashes, transitive ones included; written by scripts/lock.sh from pyproject.toml),
#                read without the source (so the Docker image caches this layer until the lock changes);
#   project      bedflow itself into $VENV (editable, without dependencies, built with the locked setuptools).
# Usage: scripts/setup.sh [STEP...]; no STEP runs all three in order (what `make` does).
# Fast when nothing changed: it checks with dpkg and a hash of pyproject.toml before installing.
# The Makefile calls it before every target; the Dockerfile runs the same steps, one layer each.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
EXTRAS=${EXTRAS-test,lab}   # EXTRAS= (empty) installs the runtime only, as the Docker image does
# The lock file of each EXTRAS (scripts/lock.sh writes both).
case "$EXTRAS" in
  "") LOCK=requirements/runtime.txt ;;
  test,lab) LOCK=requirements/dev.txt ;;
  *) echo "setup: no lock file for EXTRAS=$EXTRAS (locked: EXTRAS= for the runtime, EXTRAS=test,lab)" >&2; exit 2 ;;
esac

APT_RUNTIME=(
  openfoam                                   # blockMesh, snappyHexMesh, simpleFoam, ... (v1912)
  openmpi-bin                                # mpirun for parallel solves
  libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6 libgl1  # headless VTK rendering
  libxrender1 libxi6 libxkbcommon0 libsm6 libxfixes3 libxxf86vm1 libxext6 libx11-6  # bpy
  chromium                                   # headless browser: PDF reports (and the dashboard tests, Playwright)
  ca-certificates
)
APT_TEST=(
  poppler-utils                              # pdftoppm: checks of PDF reports
  slurmctld slurmd slurm-client munge        # a one-node Slurm cluster the tests start (pipeline.testing)
  make git
)
STEPS=(apt python-deps project)

log() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

for step in "$@"; do
  case " ${STEPS[*]} " in
    *" $step "*) ;;
    *) echo "setup: unknown step '$step' (steps: ${STEPS[*]}; none runs them all)" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || set -- "${STEPS[@]}"
SELECTED=" $* "
wants() { [[ "$SELECTED" == *" $1 "* ]]; }

# The Python that makes the venv: $PYTHON, else python3.11 from PATH; empty when it cannot make a venv.
find_python() {
  local python=${PYTHON:-}
  [ -n "$python" ] || python=$(command -v python3.11 || true)
  if [ -n "$python" ] && "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "$python"
  fi
}

step_apt() {
  local packages=("${APT_RUNTIME[@]}") missing=() pkg
  [ -z "$EXTRAS" ] || packages+=("${APT_TEST[@]}")
  for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ -n "$(find_python)" ] || missing+=(python3.11 python3.11-venv python3.11-dev)
  [ ${#missing[@]} -gt 0 ] || return 0

  log "installing Debian packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

stamp="$VENV/.bedflow-installed"
want=$(cat "$LOCK" scripts/setup.sh | sha256sum | cut -c1-16)-$EXTRAS
installed() { [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; }

step_python_deps() {
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
    local python
    python=$(find_python)
    [ -n "$python" ] || { echo "setup: no Python 3.11 with venv (run: scripts/setup.sh apt)" >&2; exit 1; }
    log "creating $VENV with $python"
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
  fi
  installed && return 0
  log "installing Python dependencies into $VENV (locked with hashes in $LOCK)"
  # Hash-checking mode: a package not in the lock, or a file whose hash the lock does not list, is refused.
  "$VENV/bin/python" -m pip install -q --require-hashes --no-deps -r "$LOCK"
}

step_project() {
  installed && return 0
  log "installing bedflow into $VENV"
  "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
}

# In `if` bodies, not `&&` lists: bash ignores `set -e` inside a function called from a `&&` list's left side.
if wants apt; then step_apt; fi
if wants python-deps; then step_python_deps; fi
if wants project; then
  step_project
  log "ready ($("$VENV/bin/python" --version), $(command -v blockMesh >/dev/null && echo 'OpenFOAM v1912' || echo 'no OpenFOAM'))"
fi
