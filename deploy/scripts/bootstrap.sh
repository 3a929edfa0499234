#!/bin/sh
# Installs what the project needs on a fresh Debian/Ubuntu machine, idempotently:
#   1. Debian packages (Postgres 15, pg_auto_failover, pgBackRest, iproute2, docker-compose, shellcheck) when missing  (needs root)
#   2. docker.io and debootstrap when missing, without starting the host's Docker daemon  (needs root)
#   3. npm dependencies when node_modules is missing or older than package-lock.json
# Plain sh because it runs before the npm dependencies (zx) exist.
set -eu
cd "$(dirname "$0")/../.."

# docker-compose (Debian's 1.29, no daemon needed): the tests render deploy/compose/ with `config`.
# And deploy's lint checks the kit's shell scripts with shellcheck (npm run lint:sh).
packages="postgresql-15 postgresql-client-15 libpq-dev gcc postgresql-15-auto-failover pg-auto-failover-cli pgbackrest iproute2 util-linux procps nftables docker-compose shellcheck"
missing=""
for pkg in $packages; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: needs root to install Debian packages:$missing" >&2
    exit 2
  fi
  echo "bootstrap: installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086 # $missing is a list of package names, one word each
  apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
    apt-get update >/dev/null
    # shellcheck disable=SC2086 # as above
    apt-get install -y --no-install-recommends $missing >/dev/null
  }
fi

# docker.io and debootstrap: deploy/image/build-image.mjs (npm run image) and its test build the
# image on a private dockerd of their own. A policy-rc.d answering "no" keeps docker.io's
# install from starting a daemon on the host's default paths (unless one is already there).
image_missing=""
for pkg in docker.io debootstrap; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || image_missing="$image_missing $pkg"
done
if [ -n "$image_missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: needs root to install Debian packages:$image_missing" >&2
    exit 2
  fi
  echo "bootstrap: installing Debian packages:$image_missing"
  export DEBIAN_FRONTEND=noninteractive
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# pg-ha-kit: no daemon starts during this install\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy=/usr/sbin/policy-rc.d
  fi
  # shellcheck disable=SC2086 # $image_missing is a list of package names, one word each
  apt-get install -y --no-install-recommends $image_missing >/dev/null 2>&1 || {
    apt-get update >/dev/null
    # shellcheck disable=SC2086 # as above
    apt-get install -y --no-install-recommends $image_missing >/dev/null || { [ -z "$policy" ] || rm -f "$policy"; exit 1; }
  }
  [ -z "$policy" ] || rm -f "$policy"
fi

# -nt is not POSIX, but dash's and busybox's test have it.
# shellcheck disable=SC3013
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install` (locked versions from package-lock.json) rather than `npm ci`: the registry
  # reachable here lacks turbo's darwin/windows binaries, so the lockfile cannot list them and
  # `npm ci` rejects it as out of sync.
  echo "bootstrap: installing npm dependencies (npm install from package-lock.json)"
  npm install --no-audit --no-fund --loglevel=error
fi
