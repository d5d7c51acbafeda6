#!/usr/bin/env bash
# Installs what the end-to-end benchmark needs (Debian 12). Not part of CI: run by hand, as root
# or with sudo. Packages that are not available are skipped with a note; the harness then
# skips what depends on them (no borg -> no borg rows; no matplotlib -> an SVG plot).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq

# Package, and whether the harness cannot run without it.
wanted=(
  "restic optional"
  "borgbackup optional"
  "postgresql-15 required"
  "postgresql-client-15 required"
  "redis-server required"
  "redis-tools required"
  "time required"
  "rsync required"
  "python3 required"
  "python3-matplotlib optional"
)
install=()
for entry in "${wanted[@]}"; do
  pkg=${entry%% *}
  need=${entry##* }
  candidate=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
    if [ "$need" = required ]; then
      echo "deps.sh: required package $pkg is not available from the configured mirrors" >&2
      exit 1
    fi
    echo "deps.sh: $pkg not available, skipping (the harness works without it)" >&2
    continue
  fi
  install+=("$pkg")
done
$SUDO apt-get install -y -qq --no-install-recommends "${install[@]}" >/dev/null
# Installing postgresql-15 starts a cluster on 5432 on some systems; the harness runs its own
# server in a temp folder on a free port and does not use it.
echo "deps.sh: installed ${install[*]}"
