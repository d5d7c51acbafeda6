# Choosing what is backed up: --exclude, --exclude-file, --exclude-if-present, --files-from(-0),
# as seen in `cairn ls`; and a file that grows while it is read is reported and flagged.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=excl
R=$T/repo
S=$T/src/app
expect_exit 0 cairn --repo "$R" init
mkdir -p "$S/logs" "$S/build" "$S/sub/build" "$S/cache" "$S/private"
echo m >"$S/main.cc"
echo l >"$S/logs/a.log"
echo k >"$S/keep.log"
echo t >"$S/sub/x.tmp"
echo o >"$S/build/out.o"
echo o >"$S/sub/build/kept.o"
echo 'Signature: 8a477f597d28d172789f06886806bc55' >"$S/cache/CACHEDIR.TAG"
echo c >"$S/cache/blob"
touch "$S/private/.nobackup"
echo s >"$S/private/secret"
printf '# build output\n\n/build/\n*.tmp  \n' >"$T/excludes"

ls_paths() { # the paths `cairn ls latest` lists, one line
  "$CAIRN" --repo "$R" --json ls latest >"$T/.ls.json"
  json "$T/.ls.json" '" ".join(sorted(e["path"] for e in j))'
}

expect_exit 0 cairn --repo "$R" --json snapshot --exclude '*.log' --exclude '!/keep.log' \
  --exclude-file "$T/excludes" --exclude-if-present CACHEDIR.TAG --exclude-if-present .nobackup "$S"
check "--json: excluded count (logs/a.log, sub/x.tmp, build, cache, private)" test "$(json "$OUT" 'j["excluded"]')" = 5
check "--json: patterns recorded" test "$(json "$OUT" 'j["exclude_patterns"]')" = '["*.log", "!/keep.log", "/build/", "*.tmp"]'
check "ls: only the selected entries" test "$(ls_paths)" = \
  "app app/keep.log app/logs app/main.cc app/sub app/sub/build app/sub/build/kept.o"
expect_exit 0 cairn --repo "$R" snapshot --exclude '*.log' "$S"
expect_grep "selection: --exclude '\*\.log'; 2 entries excluded" "$OUT" "summary names the selection"
# diff with live files lists what the snapshot left out, unless given the same selection.
expect_exit 17 cairn --repo "$R" diff --quick latest "$S"
expect_grep '^\+  app/logs/a.log$' "$OUT" "diff without the selection: excluded file shows as added"
expect_exit 0 cairn --repo "$R" diff --quick --exclude '*.log' latest "$S"

# Bad selections are refused before anything is read.
expect_exit 2 cairn --repo "$R" snapshot --exclude 'x[' "$S"
expect_grep "unclosed" "$ERR" "malformed pattern named"
expect_exit 14 cairn --repo "$R" snapshot --exclude-file "$T/no-such-file" "$S"
expect_exit 2 cairn --repo "$R" snapshot --exclude-if-present a/b "$S"
expect_exit 2 cairn --repo "$R" snapshot --stdin --exclude '*.log' </dev/null

# --files-from: the listed paths are the snapshot's paths, and the next run finds its parent.
mkdir -p "$T/etc/svc"
echo conf >"$T/etc/svc/svc.conf"
echo host >"$T/hostfile"
printf '# what to back up\n%s\n\n%s\n' "$T/etc/svc" "$T/hostfile" >"$T/list"
expect_exit 0 cairn --repo "$R" --json snapshot --files-from "$T/list"
first=$(json "$OUT" 'j["snapshot"]')
check "ls: the listed paths" test "$(ls_paths)" = "hostfile svc svc/svc.conf"
expect_exit 0 cairn --repo "$R" --json snapshot --files-from "$T/list"
check "files-from: the parent is the previous run with the same list" test "$(json "$OUT" 'j["parent"]')" = "$first"
check "files-from: unchanged files not read again" test "$(json "$OUT" 'j["files_unchanged"]')" = 2
printf '%s\0%s\0' "$T/etc/svc/svc.conf" "$S/main.cc" >"$T/list0"
expect_exit 0 cairn --repo "$R" snapshot --files-from-0 "$T/list0"
check "files-from-0: NUL-separated list" test "$(ls_paths)" = "main.cc svc.conf"
printf '# nothing\n' >"$T/empty-list"
expect_exit 2 cairn --repo "$R" snapshot --files-from "$T/empty-list"

# A file growing while it is read: reported on stderr, counted, flagged (and read again next
# time). A writer appends while the snapshot runs; the read of 64 MiB takes long enough to
# overlap with it, and a few tries absorb an unlucky schedule.
G=$T/growing
mkdir -p "$G"
head -c $((64 * MiB)) /dev/zero | tr '\0' 'a' >"$G/big.log"
grown=0
for try in 1 2 3; do
  (while :; do echo "line $RANDOM" >>"$G/big.log"; sleep 0.001; done) &
  writer=$!
  sleep 0.05
  run cairn --repo "$R" --json snapshot "$G"
  kill "$writer"
  wait "$writer" 2>/dev/null || true
  if [[ $RC -eq 0 && $(json "$OUT" 'j["changed_during_read"]') -ge 1 ]]; then
    grown=1
    break
  fi
done
check "growing file: counted in the snapshot summary" test "$grown" = 1
expect_grep 'changed while it was being read.*"notice":"[^"]*big.log"' "$ERR" "growing file: named on stderr"

finish
