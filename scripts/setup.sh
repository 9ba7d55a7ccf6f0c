#!/usr/bin/env bash
# Installs everything bedflow needs on a Debian 12 machine, idempotently:
#   1. Debian packages (OpenFOAM v1912, Mesa/EGL for headless rendering, Blender's X libs, Python 3.11);
#   2. a virtual environment in .venv with the pinned Python dependencies (pyproject.toml).
# Fast when nothing changed: it checks with dpkg and a hash of pyproject.toml before installing.
# The Makefile calls it before every target; the Dockerfile runs the same script.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
EXTRAS=${EXTRAS-test}   # EXTRAS= (empty) installs the runtime only, as the Docker image does

APT_PACKAGES=(
  openfoam                                   # blockMesh, snappyHexMesh, simpleFoam, ... (v1912)
  openmpi-bin                                # mpirun for parallel solves
  libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6 libgl1  # headless VTK rendering
  libxrender1 libxi6 libxkbcommon0 libsm6 libxfixes3 libxxf86vm1 libxext6 libx11-6  # bpy
  chromium                                   # headless browser: dashboard and HTML-export tests (Playwright), PDF reports
  poppler-utils                              # pdftoppm: checks of PDF reports
  make git ca-certificates
)

log() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  PYTHON=$(command -v python3.11 || true)
fi
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
  missing+=(python3.11 python3.11-venv python3.11-dev)
  PYTHON=/usr/bin/python3.11
fi

if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
  log "creating $VENV with $PYTHON"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip setuptools wheel
fi

stamp="$VENV/.bedflow-installed"
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)-$EXTRAS
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing Python dependencies into $VENV (pinned in pyproject.toml)"
  target="."
  [ -n "$EXTRAS" ] && target=".[$EXTRAS]"
  "$VENV/bin/python" -m pip install -q -e "$target"
  echo "$want" > "$stamp"
fi
log "ready ($("$VENV/bin/python" --version), $(command -v blockMesh >/dev/null && echo 'OpenFOAM v1912' || echo 'no OpenFOAM'))"
