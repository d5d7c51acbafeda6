#!/usr/bin/env bash
# Chunk-size study: which average chunk size should cairn use, and does it differ by kind of data?
#
#   bench/chunk_study.sh [--corpus /tmp/cairn-e2e/corpus] [--workdir /tmp/cairn-chunk-study]
#                        [--cairn build/cairn] [--sizes "64 128 256 512 1024"] [--days 4]
#                        [--kinds "sql z0 wal rdb aof tar"] [--out FILE]
#
# For every average chunk size (KiB; `cairn init --avg-chunk-kib N`: min = N/4, max = 4N) and every
# kind of data it creates a fresh repository and snapshots that kind's file (or the WAL folder)
# of day1 .. dayN of the corpus made by bench/e2e/make_corpus.py, one snapshot per day, in order.
# It records per day the bytes in, bytes_added, bytes_stored and blobs_added (from `--json`), the
# wall and CPU time; at the end the repository size (du -sb), the blobs referenced (`scrub`) and
# the size of the local index (du -sb of the cache folder). It prints one Markdown table per kind
# and a summary, and writes them to --out (default WORKDIR/chunk_study.md); the raw per-day
# figures go to WORKDIR/raw.tsv. The corpus is only read. Input files are read once before the
# measurements so that every run reads them from the page cache.
#
# Environment: CORPUS, WORKDIR, CAIRN_BIN, SIZES, DAYS, KINDS, OUT, CAIRN_REV (the version
# written into the report; default: git HEAD), CAIRN_PASSWORD (a fixed string by default).
# Kinds: sql (pg_dump plain), z0 (pg_dump -Fc -Z0), wal (WAL segments, a path snapshot of
# pg/wal), rdb (Redis RDB saved without compression), aof (the growing Redis AOF incr file),
# tar (the source tree as an uncompressed tarball). Repositories are keyed (the chunker's gear
# table too), so chunk boundaries and the byte counts move a little from run to run.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CORPUS=${CORPUS:-/tmp/cairn-e2e/corpus}
WORKDIR=${WORKDIR:-/tmp/cairn-chunk-study}
CAIRN=${CAIRN_BIN:-$ROOT/build/cairn}
SIZES=${SIZES:-64 128 256 512 1024}
DAYS=${DAYS:-4}
KINDS=${KINDS:-sql z0 wal rdb aof tar}
OUT=${OUT:-}

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case $1 in
    --corpus) CORPUS=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --cairn) CAIRN=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --days) DAYS=$2; shift 2 ;;
    --kinds) KINDS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "chunk_study.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done

say() { echo "[chunk-study $(date +%H:%M:%S)] $*" >&2; }
die() { say "error: $*"; exit 1; }

PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
command -v "$PY" >/dev/null || die "python3 is needed for the JSON and the tables"
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is missing"
case $CAIRN in /*) ;; *) CAIRN=$ROOT/$CAIRN ;; esac
[ -x "$CAIRN" ] || die "no cairn binary at $CAIRN (build it, or --cairn PATH)"
[ -d "$CORPUS/day1" ] || die "no corpus at $CORPUS (bench/e2e/make_corpus.py --out $CORPUS)"
for d in $(seq 1 "$DAYS"); do [ -d "$CORPUS/day$d" ] || die "$CORPUS/day$d is missing"; done
case $WORKDIR in /|"") die "refusing workdir '$WORKDIR'" ;; esac
mkdir -p "$WORKDIR" || die "cannot create $WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)
OUT=${OUT:-$WORKDIR/chunk_study.md}
export CAIRN_PASSWORD=${CAIRN_PASSWORD:-cairn-chunk-study-password}

# kind -> "label|cairn --kind|path in dayN (a glob for aof)|stdin or path"
declare -A SPEC=(
  [sql]="plain SQL dump (pg_dump -Fp)|pg-dump|pg/appdb.sql|stdin"
  [z0]="custom dump (pg_dump -Fc -Z0)|pg-dump|pg/appdb.Z0.dump|stdin"
  [wal]="WAL segments (16 MiB files)|wal|pg/wal|path"
  [rdb]="Redis RDB, uncompressed|redis-rdb|redis/dump-nocompress.rdb|stdin"
  [aof]="Redis AOF (growing incr file)|redis-aof|redis/appendonlydir/*.incr.aof|stdin"
  [tar]="source tarball (.tar)|tar|tarballs/src.tar|stdin"
)
for k in $KINDS; do [ -n "${SPEC[$k]:-}" ] || die "unknown kind $k (sql z0 wal rdb aof tar)"; done
for s in $SIZES; do
  case $s in *[!0-9]*|"") die "bad size $s" ;; esac
  [ $((s & (s - 1))) -eq 0 ] || die "size $s KiB is not a power of two"
done

# The input of kind $1 on day $2 (a file or, for path snapshots, a folder).
input_of() {
  local rel path
  IFS='|' read -r _ _ rel _ <<<"${SPEC[$1]}"
  # shellcheck disable=SC2086
  for path in "$CORPUS/day$2/"$rel; do echo "$path"; return; done
}

# settle: sync, then wait (at most 30 s) until the work disk writes and discards less than 4 MiB
# in half a second (deleting earlier repositories on a disk mounted with `discard` keeps it busy,
# and a snapshot's fsyncs would wait for it).
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

rm -rf "$WORKDIR/repos" "$WORKDIR/cache" "$WORKDIR/logs"
mkdir -p "$WORKDIR/repos" "$WORKDIR/cache" "$WORKDIR/logs"
RAW=$WORKDIR/raw.tsv
FINAL=$WORKDIR/final.tsv
printf 'avg_kib\tkind\tday\tbytes_in\tbytes_added\tbytes_stored\tblobs_added\twall_s\tuser_s\tsys_s\tmaxrss_kb\n' >"$RAW"
printf 'avg_kib\tkind\trepo_bytes\trepo_index_bytes\tblobs_referenced\tcache_bytes\n' >"$FINAL"

# Warm the page cache, so that every size reads its input from memory, not only the first.
say "reading the inputs once (page cache)"
for k in $KINDS; do
  for d in $(seq 1 "$DAYS"); do
    p=$(input_of "$k" "$d")
    [ -e "$p" ] || die "missing input $p"
    if [ -d "$p" ]; then cat "$p"/* >/dev/null; else cat "$p" >/dev/null; fi
  done
done

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date +%s)
for k in $KINDS; do
  IFS='|' read -r label ckind _ mode <<<"${SPEC[$k]}"
  for s in $SIZES; do
    export CAIRN_REPO=$WORKDIR/repos/$k-$s CAIRN_CACHE_DIR=$WORKDIR/cache/$k-$s
    log=$WORKDIR/logs/$k-$s.log
    settle
    "$CAIRN" --json init --avg-chunk-kib "$s" >"$log" 2>&1 || die "init failed (see $log)"
    for d in $(seq 1 "$DAYS"); do
      in=$(input_of "$k" "$d")
      json=$WORKDIR/logs/$k-$s-day$d.json tf=$WORKDIR/logs/$k-$s-day$d.time
      t0=$(date +%s%N)
      if [ "$mode" = stdin ]; then
        /usr/bin/time -f '%U %S %M' -o "$tf" "$CAIRN" --json snapshot --stdin \
          --stdin-name "$(basename "$in")" --kind "$ckind" <"$in" >"$json" 2>>"$log"
      else
        /usr/bin/time -f '%U %S %M' -o "$tf" "$CAIRN" --json snapshot --kind "$ckind" "$in" \
          >"$json" 2>>"$log"
      fi
      rc=$?
      t1=$(date +%s%N)
      [ $rc -eq 0 ] || die "snapshot $k day$d avg $s KiB failed with $rc (see $log)"
      read -r user sys rss <"$tf"
      row=$($PY -c 'import json,sys; j=json.load(open(sys.argv[1]))
print("\t".join(str(j[f]) for f in ("bytes","bytes_added","bytes_stored","blobs_added")))' "$json") \
        || die "cannot parse $json"
      wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$k" "$d" "$row" "$wall" "$user" "$sys" "$rss" >>"$RAW"
      say "$k avg ${s} KiB day$d: $(cut -f1 <<<"$row") B in, $(cut -f2 <<<"$row") added, $(cut -f3 <<<"$row") stored, ${wall}s"
    done
    scrub=$("$CAIRN" --json scrub 2>>"$log") || die "scrub failed for $k avg $s KiB (see $log)"
    blobs=$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["blobs_referenced"])' "$scrub")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$k" "$(du -sb "$CAIRN_REPO" | cut -f1)" \
      "$(du -sb "$CAIRN_REPO/index" 2>/dev/null | cut -f1 || echo 0)" "$blobs" \
      "$(du -sb "$CAIRN_CACHE_DIR" | cut -f1)" >>"$FINAL"
  done
done
ELAPSED=$(( $(date +%s) - STARTED ))
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

REV=${CAIRN_REV:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)}
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
HEADER="Chunk-size study, $(date -u '+%Y-%m-%d %H:%M UTC'), cairn $REV, $(nproc) cores ($CPU), \
days 1-$DAYS of $CORPUS, measured in ${ELAPSED} s (load average before: $LOAD_START, after: $LOAD_END)"

# Labels for the tables, in the order of KINDS.
LABELS=$WORKDIR/labels.tsv
: >"$LABELS"
for k in $KINDS; do IFS='|' read -r label _ _ _ <<<"${SPEC[$k]}"; printf '%s\t%s\n' "$k" "$label" >>"$LABELS"; done

$PY - "$RAW" "$FINAL" "$LABELS" "$HEADER" <<'EOF' | tee "$OUT"
import csv, sys
raw_path, final_path, labels_path, header = sys.argv[1:5]
num = lambda v: float(v)
raw = [{k: (v if k == "kind" else num(v)) for k, v in r.items()}
       for r in csv.DictReader(open(raw_path), delimiter="\t")]
final = {(int(num(r["avg_kib"])), r["kind"]): {k: (v if k == "kind" else num(v)) for k, v in r.items()}
         for r in csv.DictReader(open(final_path), delimiter="\t")}
labels = [l.rstrip("\n").split("\t") for l in open(labels_path) if l.strip()]
sizes = sorted({int(r["avg_kib"]) for r in raw})
MB = 1e6

def stats(kind, size):
    rows = sorted((r for r in raw if r["kind"] == kind and int(r["avg_kib"]) == size),
                  key=lambda r: r["day"])
    first, later = rows[0], rows[1:]
    f = final[(size, kind)]
    s = {}
    s["d1_in"], s["d1_wall"] = first["bytes_in"], first["wall_s"]
    s["d1_stored"] = first["bytes_stored"]
    s["later_in"] = sum(r["bytes_in"] for r in later)
    s["later_added"] = sum(r["bytes_added"] for r in later)
    s["later_stored"] = sum(r["bytes_stored"] for r in later)
    s["later_wall"] = sum(r["wall_s"] for r in later)
    s["n_later"] = len(later)
    s["added_each"] = [r["bytes_added"] for r in later]
    s["in_all"] = sum(r["bytes_in"] for r in rows)
    s["added_all"] = sum(r["bytes_added"] for r in rows)
    s["wall_all"] = sum(r["wall_s"] for r in rows)
    s["cpu_all"] = sum(r["user_s"] + r["sys_s"] for r in rows)
    s["blobs_added"] = sum(r["blobs_added"] for r in rows)
    s.update(repo=f["repo_bytes"], blobs=f["blobs_referenced"], cache=f["cache_bytes"],
             repo_index=f["repo_index_bytes"])
    return s

def ratio(a, b): return a / b if b else float("inf")
def fmt_mb(v): return f"{v / MB:,.1f}"
def rate(b, t): return f"{b / MB / t:,.0f}" if t > 0 and b > 0 else "-"

out = [f"# {header}", "",
       "bytes in/added/stored are cairn's `--json` figures (MB = 10^6 bytes); *dedup* = bytes in / "
       "bytes added over days 2..N; *stored/day* = mean bytes_stored (compressed, sealed) per day "
       "after day 1; *entries/GB* = blobs referenced per GB of unique data added; *index* = du of "
       "the local index (cache folder); MB/s = bytes in / wall time (input in the page cache).", ""]
S = {(k, s): stats(k, s) for k, _ in labels for s in sizes}
for kind, label in labels:
    d1 = S[(kind, sizes[0])]
    out += [f"## {label} (`{kind}`): day 1 {fmt_mb(d1['d1_in'])} MB, days 2..{d1['n_later'] + 1} "
            f"{fmt_mb(d1['later_in'])} MB", "",
            "| avg chunk | day1 stored MB | day1 MB/s | days 2+ added MB (per day) | dedup days 2+ "
            "| stored/day MB | incr MB/s | CPU s | repo MB | blobs | entries/GB | index KB |",
            "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in sizes:
        x = S[(kind, s)]
        each = " / ".join(f"{a / MB:.1f}" for a in x["added_each"])
        epg = x["blobs"] / (x["added_all"] / 1e9) if x["added_all"] else 0
        out.append(
            f"| {s} KiB | {fmt_mb(x['d1_stored'])} | {rate(x['d1_in'], x['d1_wall'])} "
            f"| {fmt_mb(x['later_added'])} ({each}) | {ratio(x['later_in'], x['later_added']):.2f} "
            f"| {fmt_mb(x['later_stored'] / max(x['n_later'], 1))} | {rate(x['later_in'], x['later_wall'])} "
            f"| {x['cpu_all']:.1f} | {fmt_mb(x['repo'])} | {x['blobs']:,.0f} | {epg:,.0f} "
            f"| {x['cache'] / 1e3:,.0f} |")
    out.append("")

out += ["## Summary: stored bytes per day after day 1 (MB), by kind and average chunk size", "",
        "| avg chunk | " + " | ".join(f"`{k}`" for k, _ in labels) +
        " | all kinds | vs 256 KiB | repo MB | blobs | index KB | MB/s all | CPU s all | MB per CPU s |",
        "|---:|" + "---:|" * (len(labels) + 8)]
def tot(s, key): return sum(S[(k, s)][key] for k, _ in labels)
def per_day(s): return sum(S[(k, s)]["later_stored"] / max(S[(k, s)]["n_later"], 1) for k, _ in labels)
base = per_day(256) if 256 in sizes else None
for s in sizes:
    rel = f"{per_day(s) / base:.2f}x" if base else "-"
    out.append(f"| {s} KiB | " + " | ".join(
        fmt_mb(S[(k, s)]["later_stored"] / max(S[(k, s)]["n_later"], 1)) for k, _ in labels) +
        f" | {fmt_mb(per_day(s))} | {rel} | {fmt_mb(tot(s, 'repo'))} | {tot(s, 'blobs'):,.0f} "
        f"| {tot(s, 'cache') / 1e3:,.0f} | {rate(tot(s, 'in_all'), tot(s, 'wall_all'))} "
        f"| {tot(s, 'cpu_all'):.1f} | {rate(tot(s, 'in_all'), tot(s, 'cpu_all'))} |")
out.append("")
out += ["## Summary: dedup ratio over days 2+ (bytes in / bytes added), by kind", "",
        "| avg chunk | " + " | ".join(f"`{k}`" for k, _ in labels) + " |",
        "|---:|" + "---:|" * len(labels)]
for s in sizes:
    out.append(f"| {s} KiB | " + " | ".join(
        f"{ratio(S[(k, s)]['later_in'], S[(k, s)]['later_added']):.2f}" for k, _ in labels) + " |")
print("\n".join(out))
EOF
say "results: $OUT (raw: $RAW, $FINAL); repositories in $WORKDIR/repos (delete when done)"
