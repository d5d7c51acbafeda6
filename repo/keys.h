// The master key and key files (keys/<id>).
//
// A repository has one master key: three 32-byte secrets. Each key file seals
// the master key with a key derived from one password by scrypt, so passwords
// can be added or changed without re-encrypting data. An unencrypted repository
// stores its master key in a key file without a password (kdf "none"): its ids
// stay keyed so chunk boundaries and ids are still unpredictable to others.
#pragma once

#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"
#include "store/backend.h"
#include "store/crypto.h"

namespace cairn {

struct MasterKey {
  Key32 encryption_key{};  // AES-256-GCM key for every sealed object
  Key32 id_key{};          // HMAC key for blob ids
  Key32 chunker_key{};     // derives the chunker's gear table
  ~MasterKey() { Wipe(this, sizeof(*this)); }

  static MasterKey Generate();
};

// Serializes a key file for the master key. With encrypt=false the password is ignored.
Result<Bytes> SealKeyFile(const MasterKey& key, bool encrypt, std::string_view password,
                          const ScryptParams& params);

// Opens a key file. kWrongPassword if the password does not open it; kCorruption if malformed.
Result<MasterKey> OpenKeyFile(ByteView file, std::string_view password);

// Tries every key file in the repository.
Result<MasterKey> LoadMasterKey(Backend* backend, std::string_view password);

}  // namespace cairn
