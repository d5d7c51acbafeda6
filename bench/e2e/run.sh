#!/usr/bin/env bash
# End-to-end benchmark: cairn, restic and borg on the same week of backups, in the same run.
#
#   bench/e2e/run.sh [--scale 1] [--workdir /tmp/cairn-e2e] [--cairn build/cairn]
#                    [--tools cairn,restic,borg-lz4,borg-zstd] [--runs 3] [--clean]
#
# See bench/e2e/README.md. Every option can also be given in the environment: SCALE, WORKDIR,
# CAIRN_BIN, TOOLS, RUNS, BENCH_PASSWORD, COLD (drop_caches | fadvise | none).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SCALE=${SCALE:-1}
WORKDIR=${WORKDIR:-/tmp/cairn-e2e}
CAIRN=${CAIRN_BIN:-$ROOT/build/cairn}
TOOLS=${TOOLS:-cairn,restic,borg-lz4,borg-zstd}
RUNS=${RUNS:-3}
PASSWORD=${BENCH_PASSWORD:-cairn-e2e-bench-password}
COLD=${COLD:-}
CLEAN=0

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case $1 in
    --scale) SCALE=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --cairn) CAIRN=$2; shift 2 ;;
    --tools) TOOLS=$2; shift 2 ;;
    --runs|--restore-runs) RUNS=$2; shift 2 ;;
    --clean) CLEAN=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done

say() { echo "[e2e $(date +%H:%M:%S)] $*" >&2; }
die() { say "error: $*"; exit 1; }

PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3  # the Debian python sees python3-matplotlib
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (bash bench/e2e/deps.sh)"
command -v rsync >/dev/null || die "rsync is missing (bash bench/e2e/deps.sh)"
case $CAIRN in /*) ;; *) CAIRN=$ROOT/$CAIRN ;; esac
WORKDIR=$(mkdir -p "$WORKDIR" && cd "$WORKDIR" && pwd)

tools=()
IFS=, read -r -a wanted <<<"$TOOLS"
for t in "${wanted[@]}"; do
  case $t in
    cairn) [ -x "$CAIRN" ] || die "no cairn binary at $CAIRN (build it, or --cairn PATH)" ;;
    restic) command -v restic >/dev/null || { say "restic not installed: skipped"; continue; } ;;
    borg-lz4|borg-zstd) command -v borg >/dev/null || { say "borg not installed: skipped"; continue; } ;;
    *) die "unknown tool $t (cairn, restic, borg-lz4, borg-zstd)" ;;
  esac
  tools+=("$t")
done
[ ${#tools[@]} -gt 0 ] || die "no tool to run"

CORPUS=$WORKDIR/corpus
LIVE=$WORKDIR/live
REPOS=$WORKDIR/repos
CACHES=$WORKDIR/cache
RESTORE=$WORKDIR/restore
LOGS=$WORKDIR/logs
RESULTS=$WORKDIR/results.jsonl
STARTED=$(date +%s)

# 1. The corpus (kept between runs with the same parameters).
$PY "$HERE/make_corpus.py" --out "$CORPUS" --scale "$SCALE" --reuse || die "corpus generation failed"

rm -rf "$LIVE" "$REPOS" "$CACHES" "$RESTORE" "$LOGS" "$RESULTS"
mkdir -p "$LIVE" "$REPOS" "$CACHES" "$RESTORE" "$LOGS"

# How cold restores are made cold.
if [ -z "$COLD" ]; then
  if sync && (echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then COLD=drop_caches; else COLD=fadvise; fi
fi
# settle: sync, then wait (at most 30 s) until the work disk has written and discarded less
# than 4 MiB in half a second. On the project's VM the root file system is mounted with
# `discard`: deleting a restored tree keeps the disk busy for a while after rm returns, and a
# timed step started then is slowed by it.
DEV_STAT=""
dev_name=$(basename "$(readlink -f "$(df --output=source "$WORKDIR" | tail -n1)")")
[ -r "/sys/class/block/$dev_name/stat" ] && DEV_STAT=/sys/class/block/$dev_name/stat
settle() {
  sync
  [ -n "$DEV_STAT" ] || return 0
  local i prev cur
  prev=$(awk '{print $7 + $14}' "$DEV_STAT")
  for ((i = 0; i < 60; i++)); do
    sleep 0.5
    cur=$(awk '{print $7 + $14}' "$DEV_STAT")
    [ $((cur - prev)) -lt 8192 ] && return 0
    prev=$cur
  done
  say "disk still busy after 30 s; going on"
}
drop_caches() {  # paths whose page cache must go (used by the fadvise fallback)
  sync
  case $COLD in
    drop_caches) echo 3 >/proc/sys/vm/drop_caches ;;
    fadvise) $PY "$HERE/treesum.py" evict "$@" ;;
  esac
}

# The machine and the versions, for the report.
RESTIC_COMP=""
if command -v restic >/dev/null && restic help backup 2>/dev/null | grep -q -- '--compression'; then
  RESTIC_COMP="--compression auto"
fi
cairn_rev=${CAIRN_REV:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo "+dirty")}
$PY - "$WORKDIR/env.json" <<EOF
import json, os, platform, subprocess, sys, time
def out(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except Exception:
        return None
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((int(l.split()[1]) * 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
json.dump({
    "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    "command": "bench/e2e/run.sh --scale $SCALE --tools $TOOLS --runs $RUNS",
    "nproc": os.cpu_count(), "cpu": cpu, "mem_bytes": mem, "kernel": platform.release(),
    "cairn": "$CAIRN", "cairn_rev": "$cairn_rev",
    "restic": out("restic", "version"), "borg": out("borg", "--version"),
    "restic_flags": "$RESTIC_COMP", "cold": "$COLD", "runs": $RUNS,
    "tools": "${tools[*]}".split(), "scale": $SCALE,
}, open(sys.argv[1], "w"), indent=2)
EOF

# timed NAME CMD...: runs CMD under /usr/bin/time; sets T_WALL T_USER T_SYS T_RSS_KB T_RC.
timed() {
  local name=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$LOGS/$name.time" "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err"
  T_RC=$?
  read -r T_WALL T_USER T_SYS T_RSS_KB < <(tail -n1 "$LOGS/$name.time")
  if [ "$T_RC" -ne 0 ]; then say "$name failed with status $T_RC: $(tail -n3 "$LOGS/$name.err")"; fi
}

# record TOOL STEP DAY RUN CACHE BYTES [VERIFY] [SYNC_S]: one JSON line for the last timed().
record() {
  local repo_bytes cache_bytes
  repo_bytes=$(du -sb "$REPOS/$1$SUFFIX" 2>/dev/null | cut -f1)
  cache_bytes=$(du -sb "$CACHES/$1$SUFFIX" 2>/dev/null | cut -f1)
  printf '{"tool":"%s","step":"%s","day":%s,"run":%s,"cache":"%s","bytes":%s,"wall_s":%s,"user_s":%s,"sys_s":%s,"maxrss_kb":%s,"rc":%s,"repo_bytes":%s,"cache_bytes":%s,"verify":"%s","sync_s":%s}\n' \
    "$1" "$2" "$3" "$4" "$5" "$6" "$T_WALL" "$T_USER" "$T_SYS" "$T_RSS_KB" "$T_RC" \
    "${repo_bytes:-0}" "${cache_bytes:-0}" "${7:-}" "${8:-0}" >>"$RESULTS"
}

# tool_cmd TOOL ACTION ARG: fills CMD with the command line (env VAR=... tool args).
# The repository is REPOS/TOOL$SUFFIX and the cache CACHES/TOOL$SUFFIX (SUFFIX=-scratch for
# the throwaway repositories of repeated first snapshots).
SUFFIX=""
tool_cmd() {
  local t=$1 action=$2 arg=${3:-} r=$REPOS/$1$SUFFIX c=$CACHES/$1$SUFFIX
  set -- "$@" "" ""  # so that ${4:-1} below is defined
  case $t in
    cairn)
      local e=(env CAIRN_PASSWORD="$PASSWORD" CAIRN_CACHE_DIR="$c")
      case $action in
        init) CMD=("${e[@]}" "$CAIRN" init --repo "$r") ;;
        backup) CMD=("${e[@]}" "$CAIRN" snapshot --repo "$r" --json "$LIVE" --tag "$arg") ;;
        stream) CMD=("${e[@]}" "$CAIRN" snapshot --repo "$r" --json --stdin --stdin-name "$arg") ;;
        restore) CMD=("${e[@]}" "$CAIRN" restore latest --repo "$r" --target "$arg") ;;
      esac ;;
    restic)
      local e=(env RESTIC_PASSWORD="$PASSWORD")
      local g=(-r "$r" --cache-dir "$c")
      case $action in
        init) CMD=("${e[@]}" restic "${g[@]}" init --repository-version 2) ;;
        # shellcheck disable=SC2206
        backup) CMD=("${e[@]}" restic "${g[@]}" backup $RESTIC_COMP --host bench --tag="$arg" --json "$LIVE") ;;
        # shellcheck disable=SC2206
        stream) CMD=("${e[@]}" restic "${g[@]}" backup $RESTIC_COMP --host bench --stdin --stdin-filename "$arg") ;;
        restore) CMD=("${e[@]}" restic "${g[@]}" restore latest --target "$arg") ;;
      esac ;;
    borg-*)
      local comp=lz4
      [ "$t" = borg-zstd ] && comp=zstd,3
      local vars=(BORG_PASSPHRASE="$PASSWORD" BORG_BASE_DIR="$c" BORG_DISPLAY_PASSPHRASE=no
                  BORG_RELOCATED_REPO_ACCESS_IS_OK=yes)
      case $action in
        init) CMD=(env "${vars[@]}" borg init -e repokey "$r") ;;
        backup) CMD=(env "${vars[@]}" borg create --compression "$comp" --json "$r::$arg" "$LIVE") ;;
        stream) CMD=(env "${vars[@]}" borg create --compression "$comp" --json --stdin-name "$arg" "$r::stream-${4:-1}" -) ;;
        restore) CMD=(env -C "$arg" "${vars[@]}" borg extract "$r::day7") ;;
      esac ;;
  esac
}

restore_root() {  # where a tool put the restored copy of $LIVE inside target $1
  if [ -d "$1/$(basename "$LIVE")" ] && [ ! -d "$1$LIVE" ]; then echo "$1/$(basename "$LIVE")"; else echo "$1$LIVE"; fi
}

rotated() {  # rotated OFFSET: the tools, starting at OFFSET (spreads order effects)
  local n=${#tools[@]} i
  for ((i = 0; i < n; i++)); do echo "${tools[$(((i + $1) % n))]}"; done
}

say "tools: ${tools[*]}; workdir $WORKDIR; cold restores: $COLD; cairn $CAIRN ($cairn_rev)"

# 2. init
for t in "${tools[@]}"; do
  tool_cmd "$t" init
  timed "$t.init" "${CMD[@]}" </dev/null
  record "$t" init 0 1 "" 0
  [ "$T_RC" -eq 0 ] || die "$t init failed"
done

# 3. A week of nightly snapshots of the same folder: day1 (first), day2..7 (incrementals).
for day in 1 2 3 4 5 6 7; do
  rsync -a --delete "$CORPUS/day$day/" "$LIVE/" || die "rsync day$day"
  sync
  bytes=$($PY "$HERE/treesum.py" size "$LIVE")
  step=incr
  [ $day -eq 1 ] && step=first
  for t in $(rotated $((day - 1))); do
    settle
    tool_cmd "$t" backup "day$day"
    timed "$t.day$day" "${CMD[@]}" </dev/null
    record "$t" "$step" "$day" 1 warm "$bytes"
    say "$t day$day ($step): ${T_WALL}s, $(awk -v b="$bytes" -v w="$T_WALL" 'BEGIN{printf "%.0f", (w > 0 ? b / w / 1e6 : 0)}') MB/s, rss $((T_RSS_KB / 1024)) MiB"
  done
  # The first snapshot is repeated RUNS-1 more times into throwaway repositories.
  [ $day -eq 1 ] || continue
  for run in $(seq 2 "$RUNS"); do
    SUFFIX=-scratch
    for t in $(rotated $((run - 1))); do
      rm -rf "$REPOS/$t$SUFFIX" "$CACHES/$t$SUFFIX"
      tool_cmd "$t" init
      "${CMD[@]}" </dev/null >/dev/null 2>&1 || die "$t init of a scratch repository failed"
      settle
      tool_cmd "$t" backup day1
      timed "$t.day1.$run" "${CMD[@]}" </dev/null
      record "$t" first 1 "$run" warm "$bytes"
      say "$t day1 (first, run $run): ${T_WALL}s"
      rm -rf "$REPOS/$t$SUFFIX" "$CACHES/$t$SUFFIX"
    done
    SUFFIX=""
  done
done

# 4. Restore the latest snapshot (day7): cold, then warm, RUNS times, verified.
$PY "$HERE/treesum.py" manifest "$LIVE" "$WORKDIR/live.manifest"
bytes=$($PY "$HERE/treesum.py" size "$LIVE")
for run in $(seq 1 "$RUNS"); do
  for t in $(rotated $((run - 1))); do
    modes="cold warm"
    [ "$COLD" = none ] && modes=warm
    # Cold and warm restore into separate folders, both deleted after the pair, so that the
    # warm restore does not start right after a big delete.
    rm -rf "$RESTORE/$t".*
    for mode in $modes; do
      target=$RESTORE/$t.$mode
      mkdir -p "$target"
      settle
      [ "$mode" = cold ] && drop_caches "$REPOS/$t" "$CACHES/$t"
      tool_cmd "$t" restore "$target"
      timed "$t.restore.$run.$mode" "${CMD[@]}" </dev/null
      s0=$(date +%s.%N); sync; s1=$(date +%s.%N)
      # The first run is checked byte for byte (SHA-256), later runs by names, types and sizes.
      verify=ok check=()
      [ "$run" -gt 1 ] && verify=ok-sizes check=(--sizes)
      $PY "$HERE/treesum.py" check "${check[@]}" "$(restore_root "$target")" \
        "$WORKDIR/live.manifest" 2>"$LOGS/$t.restore.$run.$mode.verify"
      case $? in 0) ;; 2) verify=metadata-differs ;; *) verify=CONTENT-DIFFERS ;; esac
      record "$t" restore 7 "$run" "$mode" "$bytes" "$verify" "$(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.2f", b - a}')"
      say "$t restore $run $mode: ${T_WALL}s, $(awk -v b="$bytes" -v w="$T_WALL" 'BEGIN{printf "%.0f", (w > 0 ? b / w / 1e6 : 0)}') MB/s, $verify"
    done
    rm -rf "$RESTORE/$t".*
  done
done

# 5. Re-snapshots, RUNS times: of the unchanged folder (day7 again: file skipping), and of an
#    unchanged stream through stdin. The stream is day7's dumps and WAL concatenated up to
#    1 GiB (the issue's "unchanged 1 GiB stream"); it is snapshotted once first (stream-new,
#    which mostly deduplicates against day7's files) so that the timed runs find every chunk.
stream_file=$WORKDIR/stream.bin
: >"$stream_file"
for f in "$CORPUS/day7/pg/appdb.Z0.dump" "$CORPUS/day7/pg/appdb.sql" "$CORPUS"/day7/pg/wal/*; do
  [ "$(stat -c %s "$stream_file")" -ge 1073741824 ] && break
  cat "$f" >>"$stream_file"
done
stream_bytes=$(stat -c %s "$stream_file")
for t in "${tools[@]}"; do
  settle
  cat "$stream_file" >/dev/null
  tool_cmd "$t" stream stream.bin 0
  timed "$t.stream.new" "${CMD[@]}" <"$stream_file"
  record "$t" stream-new 7 1 warm "$stream_bytes"
done
for run in $(seq 1 "$RUNS"); do
  for t in $(rotated $((run - 1))); do
    settle
    tool_cmd "$t" backup "day7-again-$run"
    timed "$t.unchanged.$run" "${CMD[@]}" </dev/null
    record "$t" unchanged 7 "$run" warm "$bytes"
    wall_unchanged=$T_WALL
    settle
    cat "$stream_file" >/dev/null
    tool_cmd "$t" stream stream.bin "$run"
    timed "$t.stream.$run" "${CMD[@]}" <"$stream_file"
    record "$t" stream 7 "$run" warm "$stream_bytes"
    say "$t re-snapshot, run $run: unchanged folder ${wall_unchanged}s, unchanged $((stream_bytes >> 20)) MiB stream ${T_WALL}s"
  done
done
rm -f "$stream_file"

# 6. Report.
say "done in $(($(date +%s) - STARTED)) s; results in $WORKDIR"
$PY "$HERE/report.py" "$WORKDIR" || say "report.py failed"
$PY "$HERE/plot.py" "$WORKDIR" || say "plot.py failed"

if [ $CLEAN -eq 1 ]; then
  rm -rf "$CORPUS" "$LIVE" "$REPOS" "$CACHES" "$RESTORE"
  say "removed the corpus, repositories and caches (results, logs and plot kept)"
fi
