#!/usr/bin/env bash
# Builds the fuzz targets (clang, CAIRN_BUILD_FUZZ) and runs each for SECONDS, one at a time,
# from the seed corpora (make_seeds.sh) plus what earlier runs in BUILD_DIR found. Fails if any
# target crashes, leaks, hangs or runs out of memory; the input is kept in BUILD_DIR/crashes/.
#
#   fuzz/run.sh [SECONDS [BUILD_DIR [TARGET...]]]     (default 60 s each, build-fuzz)
#   JOBS=N for the build (default 1).
set -euo pipefail
seconds=${1:-60}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$src/build-fuzz}
shift $(($# > 2 ? 2 : $#))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(bytes_fuzz tree_fuzz snapshot_fuzz index_file_fuzz trailer_fuzz envelope_fuzz
           pack_fuzz key_file_fuzz config_fuzz restore_fuzz prune_record_fuzz scrub_state_fuzz
           repair_record_fuzz)
fi

# Largest input worth trying per target: a little above the biggest seed or useful structure.
max_len() {
  case $1 in
    envelope_fuzz) echo 40000 ;;
    config_fuzz | key_file_fuzz | bytes_fuzz) echo 4096 ;;
    *) echo 16384 ;;
  esac
}

mkdir -p "$build"
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCAIRN_BUILD_FUZZ=ON -DCAIRN_BUILD_TESTS=OFF -DCAIRN_BUILD_BENCH=OFF >"$build/fuzz-build.log"
fi
if ! cmake --build "$build" -j"${JOBS:-1}" --target fuzzers >>"$build/fuzz-build.log" 2>&1; then
  tail -40 "$build/fuzz-build.log"
  echo "fuzz/run.sh: building the fuzz targets failed" >&2
  exit 1
fi

seeds=$build/fuzz-seeds
rm -rf "$seeds"
bash "$src/fuzz/make_seeds.sh" "$seeds"
mkdir -p "$build/crashes"
failed=0
printf '%-16s %10s %8s %8s %s\n' target execs cov corpus result
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t
  mkdir -p "$corpus" "$seeds/$t"
  log=$build/fuzz-$t.log
  result=ok
  dict=()
  if [ -f "$src/fuzz/$t.dict" ]; then dict=(-dict="$src/fuzz/$t.dict"); fi
  if ! "$build/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" \
      "${dict[@]}" "$corpus" "$seeds/$t" >"$log" 2>&1; then
    result="FAILED (see $log)"
    failed=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  status=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$status")
  printf '%-16s %10s %8s %8s %s\n' "$t" "${execs:-?}" "${cov:-?}" "${corp:-?}" "$result"
  if [ "$result" != ok ]; then grep -E 'ERROR|SUMMARY|FUZZ_CHECK|runtime error' "$log" | head -5; fi
done
exit $failed
