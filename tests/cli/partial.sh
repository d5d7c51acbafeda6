# A snapshot with entries that cannot be read: it is written, marked partial, exits 3, names
# the entries, and everything else restores. Root reads any file whatever its mode bits, so
# the snapshot runs as an unprivileged user (uid 65534) when this test runs as root.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=partial
uid=$(id -u)
as_user=()
if [[ $uid -eq 0 ]]; then
  if command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
    as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  elif command -v runuser >/dev/null && runuser -u nobody -- true 2>/dev/null; then
    as_user=(runuser -u nobody --)
  else
    skip "unreadable files: running as root and cannot drop privileges"
    finish
  fi
  if ! "${as_user[@]}" test -x "$CAIRN"; then
    skip "unreadable files: uid 65534 cannot run $CAIRN"
    finish
  fi
fi

W=$T/work
mkdir -p "$W/src/ok-dir" "$W/src/locked-dir"
chmod 0711 "$T"
echo "readable" >"$W/src/a.txt"
echo "also readable" >"$W/src/ok-dir/b.txt"
echo "secret" >"$W/src/locked.txt"
echo "hidden" >"$W/src/locked-dir/c.txt"
mkfifo "$W/src/a-fifo"
export CAIRN_CACHE_DIR=$W/cache
if [[ $uid -eq 0 ]]; then chown -R 65534:65534 "$W"; fi
chmod 0000 "$W/src/locked.txt" "$W/src/locked-dir"
# Each command runs as the user; HOME is set so nothing falls back to root's folders.
as() { env HOME="$W" "${as_user[@]}" "$@"; }

expect_exit 0 as "$CAIRN" --repo "$W/repo" init
check "precondition: the user cannot read locked.txt" bash -c '! "$@" cat "$0" 2>/dev/null' \
  "$W/src/locked.txt" "${as_user[@]}"
expect_exit 3 as "$CAIRN" --repo "$W/repo" snapshot "$W/src"
expect_grep 'locked\.txt' "$ERR" "the unreadable file is named on stderr"
expect_grep 'locked-dir' "$ERR" "the unreadable folder is named on stderr"
expect_grep 'PARTIAL' "$OUT" "the summary says PARTIAL"
expect_grep 'note: .*a-fifo' "$ERR" "a FIFO is skipped with a note, not an error"
expect_exit 3 as "$CAIRN" --repo "$W/repo" --json snapshot "$W/src"
check "snapshot --json: partial=true and 2 errors" \
  test "$(json "$OUT" '[j["partial"], j["errors"]]')" = '[true, 2]'
expect_grep '"problem"' "$ERR" "with --json the problems are JSON lines"
expect_exit 0 as "$CAIRN" --repo "$W/repo" --json snapshots
check "snapshots --json: both snapshots partial" \
  test "$(json "$OUT" '[s["partial"] for s in j]')" = '[true, true]'
expect_exit 0 as "$CAIRN" --repo "$W/repo" snapshots
expect_grep 'partial' "$OUT" "snapshots (text) marks the partial snapshot"

# What could be read restores.
expect_exit 0 as "$CAIRN" --repo "$W/repo" restore latest --target "$W/out"
check "a.txt restored" cmp "$W/src/a.txt" "$W/out/src/a.txt"
check "ok-dir/b.txt restored" cmp "$W/src/ok-dir/b.txt" "$W/out/src/ok-dir/b.txt"
check "the unreadable file is absent" test ! -e "$W/out/src/locked.txt"
check "the FIFO is absent" test ! -e "$W/out/src/a-fifo"
expect_exit 0 as "$CAIRN" --repo "$W/repo" --json ls latest
check "ls: the unreadable file is not listed" \
  test "$(json "$OUT" '"src/locked.txt" in [e["path"] for e in j]')" = false

# A path given on the command line that does not exist is a mistake, not an unreadable
# entry: exit 14 and no snapshot at all.
expect_exit 14 as "$CAIRN" --repo "$W/repo" snapshot "$W/src/a.txt" "$W/src/no-such-file"
expect_grep 'no-such-file' "$ERR" "a missing path is named"
expect_grep 'not written' "$ERR" "a missing path: the message says no snapshot was written"
expect_exit 0 as "$CAIRN" --repo "$W/repo" --json snapshots
check "a missing path: still two snapshots" test "$(json "$OUT" 'len(j)')" = 2

# Once readable again, the next snapshot is complete.
chmod 0644 "$W/src/locked.txt"
chmod 0755 "$W/src/locked-dir"
expect_exit 0 as "$CAIRN" --repo "$W/repo" --json snapshot "$W/src"
check "snapshot --json: partial=false" test "$(json "$OUT" 'j["partial"]')" = false
expect_exit 0 as "$CAIRN" --repo "$W/repo" restore latest --stdout src/locked.txt
check "the formerly unreadable file restores" test "$(cat "$OUT")" = secret

finish
