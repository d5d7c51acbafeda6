# Retention: forget keeps what the policy says, per group, shows why, and --dry-run changes nothing.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=forget
R=$T/repo
expect_exit 0 cairn --repo "$R" init
mkdir -p "$T/src"
for i in 1 2 3; do
  echo "version $i" >"$T/src/file.txt"
  expect_exit 0 cairn --repo "$R" snapshot --host web1 "$T/src"
done
for i in 1 2; do
  printf "dump %s" "$i" | expect_exit 0 cairn --repo "$R" snapshot --stdin --stdin-name db.dump --host db1
done
check "five snapshots to start with" test "$(snapshot_count "$R")" -eq 5

expect_exit 2 cairn --repo "$R" forget
expect_grep 'no retention policy' "$ERR" "forget without a policy refuses to run"

expect_exit 0 cairn --repo "$R" --json forget --keep-last 1 --dry-run
check "dry run: two groups (files on web1, the stream on db1)" test "$(json "$OUT" 'len(j["groups"])')" -eq 2
check "dry run: would remove 3, keep 2" test "$(json "$OUT" '[j["removed"], j["kept"]]')" = "[3, 2]"
check "dry run: the kept snapshots say why" \
  test "$(json "$OUT" 'sorted(set(r for g in j["groups"] for s in g["snapshots"] if s["keep"] for r in s["reasons"]))')" = '["last"]'
check "dry run: nothing removed" test "$(snapshot_count "$R")" -eq 5

expect_exit 0 cairn --repo "$R" forget --keep-last 1 --dry-run
expect_grep 'would remove 3 snapshots' "$OUT" "dry run (text): says what it would do"
expect_grep '^  remove  ' "$OUT" "dry run (text): lists removals"

expect_exit 0 cairn --repo "$R" forget --keep-last 1
check "forget: two snapshots remain, one per group" test "$(snapshot_count "$R")" -eq 2
expect_exit 0 cairn --repo "$R" --json snapshots
files_id=$(json "$OUT" '[s["id"] for s in j if s["host"] == "web1"][0]')
expect_exit 0 cairn --repo "$R" restore "$files_id" --target "$T/out"
check "the newest files snapshot still restores" grep -q "version 3" "$T/out/src/file.txt"
expect_exit 0 cairn --repo "$R" --json snapshots
check "the stream's newest snapshot is kept" \
  test "$(json "$OUT" 'sorted(s["host"] for s in j)')" = '["db1", "web1"]'

expect_exit 0 cairn --repo "$R" --json forget --keep-last 1 --group-by ''
check "--group-by '': one group, keeps one snapshot" test "$(json "$OUT" '[len(j["groups"]), j["kept"]]')" = "[1, 1]"
expect_exit 2 cairn --repo "$R" forget --keep-last 1 --group-by color
expect_exit 2 cairn --repo "$R" forget --keep-within 7x

finish
