// DecodeTree on arbitrary plaintext: a tree blob as a hostile repository (or a writer's bug)
// could hold it once its envelope opened. What restore relies on must hold for every tree it
// accepts: valid names (no '/', "..", NUL), strictly sorted, and a canonical re-encoding.
#include "fuzz/fuzz_util.h"
#include "repo/tree.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<Tree> tree = DecodeTree(FuzzInput(data, size));
  if (!tree.ok()) return 0;
  for (size_t i = 0; i < tree->nodes.size(); ++i) {
    const Node& n = tree->nodes[i];
    FUZZ_CHECK(IsValidNodeName(n.name));
    FUZZ_CHECK(i == 0 || tree->nodes[i - 1].name < n.name);
    FUZZ_CHECK(n.mode <= 07777);
  }
  // Our encoding is minimal, so it is never longer than what was accepted, and decodes to itself.
  Bytes encoded = EncodeTree(*tree);
  FUZZ_CHECK(encoded.size() <= size);
  Result<Tree> again = DecodeTree(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(EncodeTree(*again) == encoded);
  return 0;
}
