#!/usr/bin/env bash
# Scrub throughput against the disk: does `cairn scrub --read-data` read at the disk's speed?
#
#   bench/scrub_throughput.sh [--cairn build/cairn] [--workdir /tmp/cairn-scrub-bench]
#                             [--gib 4] [--runs 3] [--threads N] [--keep] [--priority]
#
# 1. Makes a repository (default pack size and compression) from about GIB GiB of input: half
#    random bytes, half base64 text (compresses to about 3/4, does not deduplicate). Reused if
#    WORKDIR/repo exists.
# 2. Cold sequential read, RUNS times: evict the pack files from the page cache, then `cat`
#    them all, in name order (the order a full scrub starts them in), to /dev/null.
# 3. Cold scrub, RUNS times: evict again, then `cairn scrub --read-data --json`. Its rate is
#    bytes_read / read_seconds (the data check's wall time; the structure check and opening
#    the repository are reported separately as the command's total wall time).
# Prints the median of each, and the ratio scrub / sequential read.
#
# Eviction: as root, `sync; echo 3 > /proc/sys/vm/drop_caches`; otherwise
# posix_fadvise(POSIX_FADV_DONTNEED) on every pack file (drops their clean pages, no
# privileges needed). On a virtual machine the host may still cache the disk image; both
# figures are measured the same way, so the ratio stays meaningful.
# --priority (root): runs in a new session whose scheduler autogroup gets nice -10, so that on a
# machine shared with other work the figures come closer to those of an idle machine (the data
# check is CPU-bound on 2 cores; plain `nice` does nothing across autogroups).
# Environment: CAIRN_PASSWORD (a fixed string by default).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CAIRN=$ROOT/build/cairn
WORKDIR=/tmp/cairn-scrub-bench
GIB=4
RUNS=3
THREADS=
KEEP=0
PRIORITY=0
while [ $# -gt 0 ]; do
  case $1 in
    --cairn) CAIRN=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --gib) GIB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --priority) PRIORITY=1; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [ "$PRIORITY" = 1 ] && [ -z "${SCRUB_BENCH_PRIORITISED:-}" ]; then
  export SCRUB_BENCH_PRIORITISED=1
  exec setsid bash -c 'echo -10 >/proc/self/autogroup && exec bash "$@"' bash "$0" \
    --cairn "$CAIRN" --workdir "$WORKDIR" --gib "$GIB" --runs "$RUNS" ${THREADS:+--threads "$THREADS"} \
    $([ "$KEEP" = 1 ] && echo --keep) --priority
fi
CAIRN=$(realpath "$CAIRN")
export CAIRN_PASSWORD=${CAIRN_PASSWORD:-scrub-bench}
export CAIRN_CACHE_DIR=$WORKDIR/cache
R=$WORKDIR/repo
mkdir -p "$WORKDIR"

if [ ! -f "$R/config" ]; then
  echo "making the repository from $GIB GiB of input ..." >&2
  mkdir -p "$WORKDIR/input"
  half=$((GIB * 512))  # MiB
  head -c "${half}M" /dev/urandom >"$WORKDIR/input/random.bin"
  head -c "$((half * 3 / 4))M" /dev/urandom | base64 -w 76 >"$WORKDIR/input/text.txt"
  "$CAIRN" --repo "$R" init >/dev/null
  "$CAIRN" --repo "$R" snapshot "$WORKDIR/input" >/dev/null
  rm -rf "$WORKDIR/input"
fi

packs_list=$WORKDIR/packs.txt
find "$R/data" -type f | sort >"$packs_list"
pack_bytes=$(xargs -a "$packs_list" stat -c %s | awk '{s += $1} END {print s}')

evict() {
  if [ "$(id -u)" = 0 ]; then
    sync
    echo 3 >/proc/sys/vm/drop_caches
  else
    python3 - "$packs_list" <<'EOF'
import os, sys
for p in open(sys.argv[1]).read().split():
    fd = os.open(p, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
EOF
  fi
}

now() { date +%s.%N; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

cat_rates=() scrub_rates=() scrub_walls=()
for i in $(seq "$RUNS"); do
  evict
  t0=$(now)
  xargs -a "$packs_list" cat >/dev/null
  t1=$(now)
  cat_rates+=("$(echo "$pack_bytes $t0 $t1" | awk '{printf "%.1f", $1 / ($3 - $2) / 1e6}')")

  evict
  t0=$(now)
  "$CAIRN" --repo "$R" --json scrub --read-data ${THREADS:+--threads "$THREADS"} \
    >"$WORKDIR/scrub.json" 2>/dev/null || { echo "scrub failed (exit $?)" >&2; exit 1; }
  t1=$(now)
  scrub_rates+=("$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.1f" % (j["bytes_read"] / j["read_seconds"] / 1e6))' "$WORKDIR/scrub.json")")
  scrub_walls+=("$(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}')")
  echo "run $i: sequential read ${cat_rates[-1]} MB/s, scrub data check ${scrub_rates[-1]} MB/s (command ${scrub_walls[-1]} s)" >&2
done

cat_med=$(printf '%s\n' "${cat_rates[@]}" | median)
scrub_med=$(printf '%s\n' "${scrub_rates[@]}" | median)
wall_med=$(printf '%s\n' "${scrub_walls[@]}" | median)
packs=$(wc -l <"$packs_list")
echo "packs: $packs, $(echo "$pack_bytes" | awk '{printf "%.2f", $1 / 2^30}') GiB"
echo "cold sequential read (cat, median of $RUNS): $cat_med MB/s"
echo "cold scrub --read-data data check (median of $RUNS): $scrub_med MB/s (whole command $wall_med s)"
echo "ratio scrub / sequential read: $(echo "$scrub_med $cat_med" | awk '{printf "%.0f%%", 100 * $1 / $2}')"
if [ "$KEEP" = 0 ]; then rm -rf "$WORKDIR"; fi
