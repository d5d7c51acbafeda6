# Two writers on one repository at once, as when archive_command pushes WAL segments during
# the nightly backup: a long snapshot and a stream of small ones both succeed, neither waits for
# the other, and afterwards scrub is clean and every snapshot restores identical. Then two long
# snapshots at once, started together on a fresh cache.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=concurrent
R=$T/repo
expect_exit 0 cairn --repo "$R" init --pack-mib 1

now() { date +%s.%N; }
# later A B: A > B, for decimal seconds.
later() { "$PYTHON" -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' "$1" "$2"; }
# Writes FILE in 1 MiB pieces with a pause between them: a producer slower than cairn. With a
# third argument it then waits (up to 120 s) for that file to exist before ending, so the
# snapshot it feeds is still running when the other writer's work is done.
cat >"$T/slow_cat.py" <<'EOF'
import os, sys, time
with open(sys.argv[1], "rb") as f:
    while piece := f.read(1 << 20):
        sys.stdout.buffer.write(piece)
        sys.stdout.buffer.flush()
        time.sleep(float(sys.argv[2]))
deadline = time.time() + 120
while len(sys.argv) > 3 and not os.path.exists(sys.argv[3]) and time.time() < deadline:
    time.sleep(0.05)
EOF

# --- a long snapshot (16 MiB over ~4 s, then until the small ones are done) while 10 small
# WAL-like snapshots run
head -c $((16 * MiB)) /dev/urandom >"$T/long.bin"
long_start=$(now)
"$CAIRN" --repo "$R" --json snapshot --stdin-name base.tar --kind tar \
  --stdin-from-command -- "$PYTHON" "$T/slow_cat.py" "$T/long.bin" 0.25 "$T/small.done" \
  >"$T/long.out" 2>"$T/long.err" &
long_pid=$!
sleep 0.5
small_ok=0
slowest_small=0
for i in $(seq 1 10); do
  head -c $(((i * 37 % 16 + 1) * 64 * 1024)) /dev/urandom >"$T/wal.$i"
  s=$(now)
  run cairn --repo "$R" --json snapshot --stdin --stdin-name "wal.$i" --kind wal <"$T/wal.$i"
  e=$(now)
  if [[ $RC -eq 0 ]]; then
    small_ok=$((small_ok + 1))
    json "$OUT" 'j["snapshot"]' >"$T/wal.$i.id"
  else
    echo "     small snapshot $i exited $RC: $(head -c 500 "$ERR")"
  fi
  slowest_small=$("$PYTHON" -c "print(max($slowest_small, $e - $s))")
done
small_end=$(now)
touch "$T/small.done"
check "all 10 small snapshots succeeded while the long one ran" test "$small_ok" -eq 10
check "the long snapshot was still running when the last small one finished (neither waits)" \
  kill -0 "$long_pid"
echo "     slowest small snapshot: ${slowest_small}s"
check "no small snapshot took more than 10 s (none waited for the long one)" \
  later 10 "$slowest_small"
long_rc=0
wait "$long_pid" || long_rc=$?
long_end=$(now)
check "the long snapshot succeeded (exit $long_rc)" test "$long_rc" -eq 0
check "the long snapshot ended after the small ones" later "$long_end" "$small_end"
echo "     long snapshot: $("$PYTHON" -c "print(round($long_end - $long_start, 2))")s"

expect_exit 0 cairn --repo "$R" --json scrub --read-data
check "scrub --read-data: no damage" test "$(json "$OUT" 'j["damaged"]')" = false
check "scrub --read-data: 11 snapshots" test "$(json "$OUT" 'j["snapshots"]')" = 11
long_id=$(json "$T/long.out" 'j["snapshot"]')
expect_exit 0 cairn --repo "$R" restore "$long_id" --stdout
check "the long snapshot restores identical" cmp -s "$T/long.bin" "$OUT"
same=0
for i in $(seq 1 10); do
  run cairn --repo "$R" restore "$(cat "$T/wal.$i.id")" --stdout
  if [[ $RC -eq 0 ]] && cmp -s "$T/wal.$i" "$OUT"; then same=$((same + 1)); fi
done
check "all 10 small snapshots restore identical" test "$same" -eq 10

# --- two long snapshots at once, a slow stream and a folder, started together on a fresh
# cache (both processes create the local index at the same moment)
export CAIRN_CACHE_DIR=$T/cache2
mkdir -p "$T/tree"
for d in $(seq 1 20); do
  mkdir -p "$T/tree/d$d"
  for f in $(seq 1 10); do head -c $(((d * f % 7 + 1) * 20000)) /dev/urandom >"$T/tree/d$d/f$f"; done
done
head -c $((16 * MiB)) /dev/urandom >"$T/tree/big.img"
head -c $((12 * MiB)) /dev/urandom >"$T/long2.bin"
a_start=$(now)
"$CAIRN" --repo "$R" --json snapshot --stdin-name second.tar \
  --stdin-from-command -- "$PYTHON" "$T/slow_cat.py" "$T/long2.bin" 0.25 "$T/b.done" \
  >"$T/a.out" 2>"$T/a.err" &
a_pid=$!
b_start=$(now)
"$CAIRN" --repo "$R" --json snapshot "$T/tree" >"$T/b.out" 2>"$T/b.err" &
b_pid=$!
b_rc=0
wait "$b_pid" || b_rc=$?
b_end=$(now)
touch "$T/b.done"
check "the folder snapshot ended while the stream snapshot still ran" kill -0 "$a_pid"
a_rc=0
wait "$a_pid" || a_rc=$?
a_end=$(now)
check "two long snapshots at once: the stream snapshot succeeded (exit $a_rc)" test "$a_rc" -eq 0
check "two long snapshots at once: the folder snapshot succeeded (exit $b_rc)" test "$b_rc" -eq 0
if [[ $a_rc -ne 0 || $b_rc -ne 0 ]]; then
  head -c 1000 "$T/a.err" | sed 's/^/     a: /'
  head -c 1000 "$T/b.err" | sed 's/^/     b: /'
fi
check "they overlapped in time" later "$b_end" "$a_start"
echo "     stream $("$PYTHON" -c "print(round($a_end - $a_start, 2))")s," \
  "folder $("$PYTHON" -c "print(round($b_end - $b_start, 2))")s"

expect_exit 0 cairn --repo "$R" --json scrub --read-data
check "scrub --read-data after two long writers: no damage" test "$(json "$OUT" 'j["damaged"]')" = false
check "scrub --read-data: 13 snapshots" test "$(json "$OUT" 'j["snapshots"]')" = 13
expect_exit 0 cairn --repo "$R" restore "$(json "$T/a.out" 'j["snapshot"]')" --stdout
check "the second stream restores identical" cmp -s "$T/long2.bin" "$OUT"
expect_exit 0 cairn --repo "$R" restore "$(json "$T/b.out" 'j["snapshot"]')" --target "$T/out"
check "the folder restores identical" diff -r "$T/tree" "$T/out/tree"
# A third cache, opened afresh, sees the same 13 snapshots and the same data.
export CAIRN_CACHE_DIR=$T/cache3
expect_exit 0 cairn --repo "$R" restore "$long_id" --stdout
check "a fresh cache restores the first long snapshot identical" cmp -s "$T/long.bin" "$OUT"

finish
