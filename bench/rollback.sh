#!/usr/bin/env bash
# Rollback benchmark (issue 9): roll back a ~1 GiB tree of ~10,000 files in which 1% of the files
# changed by a few bytes (plus some added and removed), and compare with a full restore into an
# empty folder from the same repository and with restic's restore of the same data.
#
#   bash bench/rollback.sh /path/to/cairn [WORK_DIR]
#
# Env: SIZE_MIB (1024), FILES (10000), RUNS (3), KEY_CACHE (0). Needs restic (Debian package
# `restic`). KEY_CACHE=1 runs `cairn key unlock` first, so no cairn command of the runs (rollback
# and full restore alike) derives the key from the password: the operator's session during an
# incident. Otherwise every command pays the password's scrypt derivation, as a cron job does.
# Before every timed run, dirty pages are written out (sync) and the repositories' files are
# evicted from the page cache (posix_fadvise DONTNEED, no privileges needed), so repository reads
# are cold as from a remote disk; the live tree stays warm, as it is on a running server. Prints one line per run and the
# medians; everything is left in WORK_DIR for inspection until the next run.
set -euo pipefail

CAIRN=$(realpath "$1")
WORK=${2:-/tmp/cairn-bench-rollback}
SIZE_MIB=${SIZE_MIB:-1024}
FILES=${FILES:-10000}
RUNS=${RUNS:-3}
export CAIRN_PASSWORD=bench RESTIC_PASSWORD=bench CAIRN_CACHE_DIR=$WORK/cache
command -v restic >/dev/null || { echo "restic not found (apt-get install -y restic)" >&2; exit 2; }

rm -rf "$WORK"
mkdir -p "$WORK"
APP=$WORK/srv/app
R=$WORK/cairn-repo
RR=$WORK/restic-repo

now() { date +%s.%N; }
evict() {  # drop the repositories' files from the page cache
  # Write out what earlier runs left dirty (a full restore leaves a GiB): otherwise the next
  # command's first fsync waits for it, and one run pays for another.
  sync
  python3 - "$@" <<'EOF'
import os, sys
for root in sys.argv[1:]:
    for d, _, names in os.walk(root):
        for n in names:
            try:
                fd = os.open(os.path.join(d, n), os.O_RDONLY)
            except OSError:
                continue
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
EOF
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
jget() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

# ------------------------------------------------------------------ the tree
# 100 folders; sizes: most files small (0.5-128 KiB), 1% medium (1-8 MiB), 0.1% large (~24 MiB),
# scaled to SIZE_MIB. Content is base64 of random bytes (compresses to ~75%, dedups not at all).
python3 - "$APP" "$SIZE_MIB" "$FILES" <<'EOF'
import base64, os, random, sys
root, size_mib, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(9)
sizes = []
for i in range(files):
    r = rng.random()
    if r < 0.001: sizes.append(rng.randint(20 << 20, 28 << 20))
    elif r < 0.011: sizes.append(rng.randint(1 << 20, 8 << 20))
    else: sizes.append(int(2 ** rng.uniform(9, 17)))
scale = size_mib * (1 << 20) / sum(sizes)
for i, s in enumerate(sizes):
    d = os.path.join(root, "pkg%02d" % (i % 100))
    os.makedirs(d, exist_ok=True)
    n = max(1, int(s * scale))
    with open(os.path.join(d, "file%05d" % i), "wb") as f:
        f.write(base64.encodebytes(os.urandom(n * 3 // 4 + 3))[:n])
EOF
echo "tree: $(find "$APP" -type f | wc -l) files, $(du -sm "$APP" | cut -f1) MiB"

"$CAIRN" --repo "$R" init >/dev/null
t0=$(now)
"$CAIRN" --repo "$R" --json snapshot "$APP" >"$WORK/snap.json" 2>/dev/null
echo "cairn snapshot: $(echo "$(now) - $t0" | bc) s"
SNAP=$(jget "$WORK/snap.json" snapshot)
restic -q -r "$RR" init >/dev/null
t0=$(now)
restic -q -r "$RR" backup "$APP" >/dev/null
echo "restic backup: $(echo "$(now) - $t0" | bc) s"

# ------------------------------------------------------------------ the bad change
# The same change every time: 1% of the files get a few bytes overwritten, 20 files are added
# and 20 removed.
break_tree() {
  python3 - "$APP" <<'EOF'
import os, random, sys
root = sys.argv[1]
rng = random.Random(42)
files = sorted(os.path.join(d, n) for d, _, ns in os.walk(root) for n in ns if n.startswith("file"))
picked = rng.sample(files, len(files) // 100 + 20)
for p in picked[:len(files) // 100]:
    size = os.path.getsize(p)
    with open(p, "r+b") as f:
        f.seek(rng.randrange(max(1, size - 8)))
        f.write(b"BAD!")
for p in picked[len(files) // 100:]:
    if os.path.exists(p): os.remove(p)
for i in range(20):
    with open(os.path.join(root, "pkg%02d" % i, "added%02d" % i), "wb") as f:
        f.write(os.urandom(50000))
EOF
}

if [[ ${KEY_CACHE:-0} == 1 ]]; then
  "$CAIRN" --repo "$R" key unlock --for 2h >/dev/null
  trap '"$CAIRN" --repo "$R" key lock >/dev/null 2>&1 || true' EXIT
  echo "key cached in the kernel keyring (cairn key unlock): no command derives it"
fi
echo "load before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "run  what                         seconds  read-from-repo-bytes"
declare -A T B
for run in $(seq 1 "$RUNS"); do
  # Planned bytes: the stored size of the snapshot blobs the broken tree lacks (the changed
  # chunks), from a dry run.
  break_tree
  "$CAIRN" --repo "$R" --json restore "$SNAP:app" --target "$APP" --in-place --delete --dry-run >"$WORK/plan.json" 2>/dev/null
  B[planned]+="$(jget "$WORK/plan.json" bytes_fetched) "
  for mode in default no-undo quick checksum; do
    case $mode in
      default) flags=() ;;
      no-undo) flags=(--no-undo-snapshot) ;;
      quick) flags=(--quick --no-undo-snapshot) ;;
      checksum) flags=(--checksum --no-undo-snapshot) ;;
    esac
    [[ $mode == default ]] || break_tree
    evict "$R"
    t0=$(now)
    nice "$CAIRN" --repo "$R" --json restore "$SNAP:app" --target "$APP" --in-place --delete "${flags[@]}" \
      >"$WORK/rb.json" 2>"$WORK/rb.err"
    t=$(echo "$(now) - $t0" | bc)
    b=$(jget "$WORK/rb.json" bytes_fetched)
    printf '%-4s %-28s %7.2f  %s\n' "$run" "cairn rollback ($mode)" "$t" "$b"
    T[$mode]+="$t "
    B[$mode]+="$b "
  done
  rm -rf "$WORK/full"
  evict "$R"
  t0=$(now)
  nice "$CAIRN" --repo "$R" --json restore "$SNAP:app" --target "$WORK/full" >"$WORK/full.json" 2>/dev/null
  t=$(echo "$(now) - $t0" | bc)
  b=$(jget "$WORK/full.json" bytes_fetched)
  printf '%-4s %-28s %7.2f  %s\n' "$run" "cairn full restore" "$t" "$b"
  T[full]+="$t "
  B[full]+="$b "
  rm -rf "$WORK/restic-out"
  evict "$RR"
  t0=$(now)
  nice restic -q -r "$RR" restore latest --target "$WORK/restic-out" >/dev/null
  t=$(echo "$(now) - $t0" | bc)
  printf '%-4s %-28s %7.2f  -\n' "$run" "restic restore" "$t"
  T[restic]+="$t "
done

echo
echo "load after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "medians of $RUNS runs"
for k in default no-undo quick checksum full restic; do
  tm=$(tr ' ' '\n' <<<"${T[$k]}" | grep . | median)
  bm=$(tr ' ' '\n' <<<"${B[$k]:-}" | grep . | median || true)
  printf '%-10s %7.2f s  %s bytes from the repository\n' "$k" "$tm" "${bm:--}"
done
echo "changed chunks (stored size, dry-run plan): $(tr ' ' '\n' <<<"${B[planned]}" | grep . | median) bytes"
