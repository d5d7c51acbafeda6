// The repository config object: format version, repository id, and the
// parameters every writer must agree on (chunker, encryption). Written once by
// `init`, never changed. Stored as JSON so an operator can read it without
// cairn; its integrity is checked with an HMAC once the master
// key is open, under a MAC key derived from the encryption key (docs/FORMAT.md "Config").
#pragma once

#include <string>

#include "chunker/fastcdc.h"
#include "common/bytes.h"
#include "common/status.h"
#include "store/crypto.h"

namespace cairn {

struct RepoConfig {
  uint32_t version = 0;
  std::string id;  // 64 hex digits, random
  bool encrypted = true;
  ChunkerParams chunker;
  uint64_t pack_size = 0;
  int compression_level = 0;

  // The config MAC key: HMAC-SHA-256(encryption key, "cairn config mac"). A key of its own, so
  // no blob id (HMAC under the id key) can ever equal a config MAC.
  static Key32 MacKey(const Key32& encryption_key);
  // Serializes with a MAC under mac_key.
  Bytes Encode(const Key32& mac_key) const;
  // Parses without checking the MAC (the key is not open yet when the config is first read).
  static Result<RepoConfig> Decode(ByteView bytes);
  // Checks the MAC written by Encode.
  static Status Verify(ByteView bytes, const Key32& mac_key);
};

}  // namespace cairn
