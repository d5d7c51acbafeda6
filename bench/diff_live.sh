#!/bin/bash
# Wall time of `cairn diff SNAPSHOT PATH` (content check and --quick) against sha256sum of the
# same tree: 1 GiB in about 10,000 files. Cold runs evict the tree from the page cache first
# (drop_caches as root when allowed, else posix_fadvise(DONTNEED) per file, which needs no
# privileges); warm runs read it from memory. Prints the median of RUNS runs per setting.
#
#   bash bench/diff_live.sh [path/to/cairn]
#   WORK=/scratch/dir RUNS=3 THREADS="1 2" bash bench/diff_live.sh build/cairn
#
# Results go to docs/BENCHMARKS.md "Diff with live files".
set -euo pipefail

CAIRN=$(realpath "${1:-build/cairn}")
WORK=${WORK:-/tmp/cairn-bench-diff}
RUNS=${RUNS:-3}
THREADS=${THREADS:-"1 2"}
TREE=$WORK/tree
export CAIRN_REPO=$WORK/repo CAIRN_PASSWORD=bench CAIRN_CACHE_DIR=$WORK/cache
PY=$(python3 -c 'import sys; print(sys.executable)')

# make_tree DIR: 100 folders of 100 files, sizes spread from 1 KiB to ~1 MiB (a few large files
# carry most bytes, as in a service's data folder), 1 GiB in all, random bytes, fixed seed.
make_tree() {
  "$PY" - "$1" <<'EOF'
import os, random, sys
root = sys.argv[1]
rng = random.Random(42)
total_target, n_files = 1 << 30, 10000
weights = [rng.paretovariate(1.2) for _ in range(n_files)]
scale = total_target / sum(weights)
block = os.urandom(8 << 20)
written = 0
for i in range(n_files):
    d = os.path.join(root, "d%03d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    size = max(1024, int(weights[i] * scale))
    with open(os.path.join(d, "f%05d.bin" % i), "wb") as f:
        left = size
        while left:
            off = rng.randrange(0, len(block) - 1)
            n = min(left, len(block) - off)
            f.write(block[off:off + n])
            left -= n
    written += size
print("tree: %d files, %.2f GiB" % (n_files, written / (1 << 30)))
EOF
}

evict() {
  sync
  if [[ $(id -u) -eq 0 ]] && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then return; fi
  "$PY" - "$TREE" <<'EOF'
import os, sys
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        fd = os.open(os.path.join(d, f), os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
EOF
}

# seconds CMD...: wall time of CMD in seconds (its output discarded; exit 17 is "different").
seconds() {
  local start end rc=0
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || rc=$?
  end=$(date +%s.%N)
  if [[ $rc -ne 0 ]]; then
    echo "command failed ($rc): $*" >&2
    exit 1
  fi
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# measure NAME CACHE CMD...: median of RUNS runs, cold or warm.
measure() {
  local name=$1 cache=$2
  shift 2
  local times=() i
  [[ $cache == warm ]] && seconds "$@" >/dev/null  # fill the cache once
  for ((i = 0; i < RUNS; i++)); do
    [[ $cache == cold ]] && evict
    times+=("$(seconds "$@")")
  done
  printf '%-40s %-5s median %6.2f s   runs: %s\n' "$name" "$cache" "$(median "${times[@]}")" "${times[*]}"
}

mkdir -p "$WORK"
if [[ ! -d $TREE ]]; then
  mkdir -p "$TREE"
  make_tree "$TREE"
fi
if [[ ! -d $CAIRN_REPO ]]; then
  "$CAIRN" init >/dev/null
  "$CAIRN" snapshot "$TREE" >/dev/null
fi
"$CAIRN" diff --quick latest "$TREE" >/dev/null  # the tree and the snapshot agree

echo "date: $(date -u +%F)  host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "tree: $(find "$TREE" -type f | wc -l) files, $(du -sb "$TREE" | cut -f1) bytes; runs: $RUNS"
sha() { find "$TREE" -type f -print0 | xargs -0 sha256sum; }
sha_parallel() { find "$TREE" -type f -print0 | xargs -0 -P "$(nproc)" -n 64 sha256sum; }
# OpenSSL's SHA-256 uses the CPU's SHA extensions, as cairn's hashing does; coreutils' does not.
ossl_parallel() { find "$TREE" -type f -print0 | xargs -0 -P "$(nproc)" -n 64 openssl dgst -sha256; }
for cache in cold warm; do
  measure "sha256sum (one process)" "$cache" sha
  measure "sha256sum (xargs -P $(nproc))" "$cache" sha_parallel
  measure "openssl dgst -sha256 (xargs -P $(nproc))" "$cache" ossl_parallel
  for t in $THREADS; do
    measure "cairn diff --threads $t" "$cache" "$CAIRN" diff --threads "$t" latest "$TREE"
  done
  measure "cairn diff --quick" "$cache" "$CAIRN" diff --quick latest "$TREE"
done
