#!/usr/bin/env bash
# Prepares a checkout to run or test avatar-care: a virtual environment with the pinned Python
# packages, the project installed in it, the pages' npm packages, and the pages bundled as a wheel
# carries them (avatar_care/web/; the checkout's server serves the sources). Safe to run again.
#   scripts/setup.sh          what running the product needs
#   scripts/setup.sh --dev    also the test tools, and Debian's chromium and postgresql for the tests
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "avatar-care needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
# Node.js and npm install the pages' packages and bundle them (build tools only: an installed server
# needs neither): Debian's, when running as root on a machine without them.
if ! { command -v node >/dev/null && command -v npm >/dev/null; } && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "avatar-care needs Node.js and npm for the web pages (apt-get install nodejs npm)" >&2
  exit 1
}

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip --quiet --disable-pip-version-check)
"${pip[@]}" install -r requirements/runtime.txt
# mediapipe's wheel asks for opencv-contrib-python, which would overwrite opencv-python-headless in
# the same cv2/ folder; its real needs are pinned in requirements/runtime.txt.
"${pip[@]}" install --no-deps "mediapipe==1.2.3"
"${pip[@]}" install --no-deps --no-build-isolation -e . 2>/dev/null || "${pip[@]}" install --no-deps -e .
.venv/bin/python -c "import mediapipe, cv2, numpy" || {
  echo "the Python environment is broken: mediapipe, cv2 or numpy does not import" >&2
  exit 1
}

(cd web_client && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)

if [ "$dev" = 1 ]; then
  "${pip[@]}" install -r requirements/dev.txt
  (cd benchmarks && npm ci --no-audit --no-fund --loglevel=error)
  # the OpenID provider the single sign-on tests start (oidc-provider, tests/oidc/provider.mjs)
  (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error)
  # Debian packages the tests drive: chromium for the browser tests, postgresql's server programs
  # (initdb, pg_ctl) for the throwaway cluster the database tests start (tests/postgres_cluster.py),
  # coturn for the TURN relay tests (tests/coturn.py, tests/network/), caddy for the reverse-proxy
  # test (deploy/Caddyfile), and for the simulated networks (tests/network/) iproute2 (ip netns,
  # veth), nftables (NAT and firewall) and libnss3-tools (certutil: chromium's NSS database trusts
  # the relay's test authority).
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/turnserver ] || missing+=(coturn)
  [ -x /usr/bin/caddy ] || missing+=(caddy)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  command -v ip >/dev/null || [ -x /usr/sbin/ip ] || missing+=(iproute2)
  command -v nft >/dev/null || [ -x /usr/sbin/nft ] || missing+=(nftables)
  [ -x /usr/bin/certutil ] || missing+=(libnss3-tools)
  command -v systemd-analyze >/dev/null || missing+=(systemd)  # the shipped units are verified (tests/deploy)
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
      # The tests start their own turnserver with their own configuration; the package's system
      # service is not wanted on a test machine.
      if [[ " ${missing[*]} " == *" coturn "* ]]; then
        if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
          systemctl disable --now coturn >/dev/null 2>&1 || true
        else
          service coturn stop >/dev/null 2>&1 || true
        fi
      fi
    else
      echo "the tests need Debian's ${missing[*]}: sudo apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
fi
