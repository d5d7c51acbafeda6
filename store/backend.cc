#include "store/backend.h"

#include <string_view>

namespace cairn {

const char* ObjectTypeName(ObjectType t) {
  switch (t) {
    case ObjectType::kConfig: return "config";
    case ObjectType::kKey: return "key";
    case ObjectType::kData: return "data";
    case ObjectType::kIndex: return "index";
    case ObjectType::kSnapshot: return "snapshot";
    case ObjectType::kLock: return "lock";
    case ObjectType::kScrub: return "scrub state";
    case ObjectType::kPrune: return "prune record";
    case ObjectType::kSweep: return "sweep marker";
    case ObjectType::kRepair: return "repair record";
  }
  return "unknown";
}

const char* ObjectTypeFolder(ObjectType t) {
  switch (t) {
    case ObjectType::kConfig: return "";
    case ObjectType::kKey: return "keys";
    case ObjectType::kData: return "data";
    case ObjectType::kIndex: return "index";
    case ObjectType::kSnapshot: return "snapshots";
    case ObjectType::kLock: return "locks";
    case ObjectType::kScrub: return "scrub";
    case ObjectType::kPrune: return "prune";
    case ObjectType::kSweep: return "sweeps";
    case ObjectType::kRepair: return "repairs";
  }
  return "";
}

std::string ObjectName::ToString() const {
  if (type == ObjectType::kConfig) return "config";
  std::string path = ObjectTypeFolder(type);
  path += '/';
  // Data objects are spread over 256 subfolders so no folder grows to millions of entries.
  if (type == ObjectType::kData) {
    path += std::string_view(name).substr(0, 2);
    path += '/';
  }
  path += name;
  return path;
}

namespace {

// The name goes into an error message; keep a hostile one short and printable.
std::string Printable(std::string_view s) {
  constexpr size_t kMaxShown = 40;
  std::string out;
  for (char c : s.substr(0, kMaxShown)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > kMaxShown) out += "...";
  return out;
}

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

Status ValidateObjectName(const ObjectName& obj) {
  auto invalid = [&](std::string_view why) {
    std::string msg = "invalid ";
    msg += ObjectTypeName(obj.type);
    msg += " object name \"";
    msg += Printable(obj.name);
    msg += "\": ";
    msg += why;
    return Status::InvalidArgument(msg);
  };
  switch (obj.type) {
    case ObjectType::kConfig:
      if (!obj.name.empty()) return invalid("config has no name");
      return Status::OK();
    case ObjectType::kKey:
    case ObjectType::kData:
    case ObjectType::kIndex:
    case ObjectType::kSnapshot:
    case ObjectType::kLock:
    case ObjectType::kScrub:
    case ObjectType::kPrune:
    case ObjectType::kSweep:
    case ObjectType::kRepair:
      break;
    default:
      return invalid("unknown object type");
  }
  size_t min_length = obj.type == ObjectType::kData ? 2 : 1;
  if (obj.name.size() < min_length || obj.name.size() > kMaxObjectNameLength) {
    return invalid("length must be " + std::to_string(min_length) + ".." +
                   std::to_string(kMaxObjectNameLength));
  }
  // Only [0-9a-f]: no '/', '.', or upper case, so a name can neither leave its folder nor
  // alias another name on a case-insensitive filesystem.
  for (char c : obj.name) {
    if (!IsLowerHex(c)) return invalid("only lower-case hex is allowed");
  }
  return Status::OK();
}

}  // namespace cairn
