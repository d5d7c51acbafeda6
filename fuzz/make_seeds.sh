#!/usr/bin/env bash
# Writes seed corpora for the fuzz targets into OUT_DIR/<target>/: the golden files of every
# format version (tests/data/format-v*/, never edited, so the seeds stay valid inputs) and the
# small hand-picked seeds committed under fuzz/seeds/<target>/.
#
#   fuzz/make_seeds.sh OUT_DIR
set -euo pipefail
out=${1:?usage: make_seeds.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
data=$here/../tests/data

seed() {  # seed TARGET FILE...
  local target=$1
  shift
  mkdir -p "$out/$target"
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    cp "$f" "$out/$target/$(basename "$(dirname "$f")")-$(basename "$f")"
  done
}

for v in "$data"/format-v*; do
  seed tree_fuzz "$v"/tree.bin "$v"/tree_minimal.bin
  seed restore_fuzz "$v"/tree.bin "$v"/tree_minimal.bin
  seed snapshot_fuzz "$v"/snapshot.bin
  seed index_file_fuzz "$v"/index_file.bin "$v"/index_file_tiny.bin
  seed trailer_fuzz "$v"/pack_trailer.bin "$v"/pack_trailer_tiny.bin
  seed bytes_fuzz "$v"/tree.bin "$v"/snapshot.bin "$v"/index_file_tiny.bin
  # Sealed objects of the golden repositories: envelopes, and packs read as whole files.
  seed envelope_fuzz "$v"/envelope_*.bin "$v"/pack_unencrypted.bin "$v"/repo*/snapshots/* \
    "$v"/repo*/index/*
  for pack in "$v"/repo*/data/*/*; do
    [ "$(stat -c %s "$pack")" -le 32768 ] && seed envelope_fuzz "$pack"
  done
  seed prune_record_fuzz "$v"/prune_record.bin
  seed scrub_state_fuzz "$v"/scrub_state.bin
  seed repair_record_fuzz "$v"/repair_record.bin
  seed config_fuzz "$v"/repo*/config
  seed key_file_fuzz "$v"/repo*/keys/*
done
if [ -d "$here/seeds" ]; then
  for dir in "$here"/seeds/*/; do
    seed "$(basename "$dir")" "$dir"*
  done
fi
