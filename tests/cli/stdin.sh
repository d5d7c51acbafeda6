# Streams: --stdin and --stdin-from-command, their metadata, restore --stdout, and the rule
# that a failing producer commits nothing.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=stdin
R=$T/repo
expect_exit 0 cairn --repo "$R" init

# --stdin with a name and a kind.
head -c $((5 * MiB)) /dev/urandom >"$T/db.dump"
expect_exit 0 cairn --repo "$R" --json snapshot --stdin --stdin-name db.dump --kind pg-dump \
  --tag nightly <"$T/db.dump"
id1=$(json "$OUT" 'j["snapshot"]')
check "snapshot --stdin --json: bytes = 5 MiB, 1 file, not partial" \
  test "$(json "$OUT" '[j["bytes"], j["files"], j["partial"]]')" = "[$((5 * MiB)), 1, false]"
expect_exit 0 cairn --repo "$R" restore latest --stdout
check "restore latest --stdout equals the input (cmp)" cmp "$T/db.dump" "$OUT"
expect_exit 0 cairn --repo "$R" restore latest --stdout db.dump
check "restore latest --stdout db.dump equals the input" cmp "$T/db.dump" "$OUT"
expect_exit 0 cairn --repo "$R" --json snapshots
check "snapshots --json: kind, stdin_name, tags" \
  test "$(json "$OUT" '[j[-1]["kind"], j[-1]["stdin_name"], j[-1]["tags"], j[-1]["bytes"]]')" = \
  "[\"pg-dump\", \"db.dump\", [\"nightly\"], $((5 * MiB))]"
expect_exit 0 cairn --repo "$R" snapshots
expect_grep 'pg-dump +.*db\.dump' "$OUT" "snapshots (text) shows the kind and the stream name"
expect_exit 0 cairn --repo "$R" --json ls latest
check "ls: the stream is one file named db.dump of 5 MiB" \
  test "$(json "$OUT" '[(e["path"], e["type"], e["size"]) for e in j]')" = \
  "[[\"db.dump\", \"file\", $((5 * MiB))]]"
expect_exit 0 cairn --repo "$R" restore latest --target "$T/out"
check "restore --target writes the stream as a file" cmp "$T/db.dump" "$T/out/db.dump"

# Without --stdin-name and --kind: defaults.
printf 'short stream' >"$T/short"
expect_exit 0 cairn --repo "$R" --json snapshot --stdin <"$T/short"
expect_exit 0 cairn --repo "$R" --json snapshots
check "defaults: stdin_name 'stdin' and kind 'stream'" \
  test "$(json "$OUT" '[j[-1]["stdin_name"], j[-1]["kind"]]')" = '["stdin", "stream"]'
expect_exit 0 cairn --repo "$R" restore latest --stdout
check "the short stream restores" test "$(cat "$OUT")" = "short stream"
# An empty stream is a valid (empty) snapshot.
expect_exit 0 cairn --repo "$R" --json snapshot --stdin --stdin-name empty </dev/null
expect_exit 0 cairn --repo "$R" restore latest --stdout
check "an empty stream restores empty" test ! -s "$OUT"
# The first stream is still there by id.
expect_exit 0 cairn --repo "$R" restore "${id1:0:10}" --stdout
check "the first stream restores by id prefix" cmp "$T/db.dump" "$OUT"

# --stdin-from-command: a failing producer leaves no snapshot.
before=$(snapshot_count "$R")
expect_exit 16 cairn --repo "$R" snapshot --stdin-name broken.dump \
  --stdin-from-command -- sh -c 'head -c 3M /dev/urandom; exit 1'
expect_grep 'exit.* 1|status 1' "$ERR" "a failing producer: its exit status is reported"
expect_grep 'no snapshot' "$ERR" "a failing producer: the message says no snapshot was written"
check "a failing producer: no new snapshot" test "$(snapshot_count "$R")" = "$before"
expect_exit 16 cairn --repo "$R" snapshot --stdin-from-command -- sh -c 'printf partial; kill -9 $$'
expect_grep 'signal' "$ERR" "a killed producer: the signal is reported"
check "a killed producer: no new snapshot" test "$(snapshot_count "$R")" = "$before"
expect_exit 16 cairn --repo "$R" snapshot --stdin-from-command -- /no/such/program
check "a missing program: no new snapshot" test "$(snapshot_count "$R")" = "$before"

# --stdin-from-command that succeeds.
expect_exit 0 cairn --repo "$R" --json snapshot --stdin-name hello.txt --kind text \
  --stdin-from-command -- sh -c 'printf hello'
check "a succeeding producer: one new snapshot" test "$(snapshot_count "$R")" = "$((before + 1))"
expect_exit 0 cairn --repo "$R" restore latest --stdout
check "the command's output restores as 'hello'" test "$(cat "$OUT")" = hello
expect_exit 0 cairn --repo "$R" --json snapshots
check "snapshots --json: the command's stream name and kind" \
  test "$(json "$OUT" '[j[-1]["stdin_name"], j[-1]["kind"]]')" = '["hello.txt", "text"]'
# The producer's arguments reach it unchanged (quotes, spaces, dashes).
expect_exit 0 cairn --repo "$R" snapshot --stdin-from-command -- printf '%s|' 'a b' '--x' ''
expect_exit 0 cairn --repo "$R" restore latest --stdout
check "the command's arguments arrive intact" test "$(cat "$OUT")" = 'a b|--x||'
# A large command output.
head -c $((4 * MiB)) /dev/urandom >"$T/big"
expect_exit 0 cairn --repo "$R" snapshot --stdin-from-command -- cat "$T/big"
expect_exit 0 cairn --repo "$R" restore latest --stdout
check "4 MiB through a command restores byte-identical" cmp "$T/big" "$OUT"

# Misuse: a usage error, nothing written.
before=$(snapshot_count "$R")
expect_exit 2 cairn --repo "$R" snapshot --stdin "$T/short" </dev/null
expect_exit 2 cairn --repo "$R" snapshot --stdin-from-command
expect_exit 2 cairn --repo "$R" snapshot
check "misuse wrote no snapshot" test "$(snapshot_count "$R")" = "$before"
# --stdout refuses a terminal.
if command -v script >/dev/null && script -qec true /dev/null >/dev/null 2>&1; then
  script -qec "$CAIRN --repo $R restore latest --stdout" /dev/null >"$T/tty.txt" 2>&1 || true
  expect_grep 'terminal' "$T/tty.txt" "restore --stdout to a terminal is refused"
fi

finish
