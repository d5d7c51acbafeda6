// Restore of hostile trees: whatever trees a repository holds, restore writes only inside its
// target. The input is up to four tree plaintexts; each must pass DecodeTree (the gate every tree
// blob goes through when loaded), then the harness links them (directory i's subtrees are later
// trees, files point at one stored data blob), stores them in a scratch repository, restores the
// first as a snapshot's root into sandbox/target, then again in place with --delete semantics,
// and checks that nothing but the target appeared in the sandbox.
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <filesystem>

#include "fuzz/fuzz_util.h"
#include "repo/restore.h"
#include "store/backend.h"

using namespace cairn;
namespace fs = std::filesystem;

namespace {

struct Fixture;
Fixture* GetFixture();

struct Fixture {
  fs::path root;  // repo/, cache/, sandbox/
  std::unique_ptr<Repository> repo;
  Id data_id;
  Id empty_tree_id;
};

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "restore_fuzz setup: %s\n", r.status().ToString().c_str());
    std::abort();
  }
  return std::move(r).value();
}

Fixture* MakeFixture() {
  auto* f = new Fixture;
  char tmpl[] = "/tmp/cairn-restore-fuzz-XXXXXX";
  FUZZ_CHECK(mkdtemp(tmpl) != nullptr);
  f->root = tmpl;
  InitOptions init;
  init.encrypt = false;
  init.scrypt.n = 1 << 4;
  init.pack_size = 1 << 20;
  {
    std::unique_ptr<Backend> backend = Must(OpenLocalBackend(f->root / "repo", true));
    FUZZ_CHECK(Repository::Init(backend.get(), "pw", init).ok());
  }
  f->repo = Must(Repository::Open(Must(OpenLocalBackend(f->root / "repo", false)), "pw",
                                  OpenOptions{f->root / "cache"}));
  f->data_id = Must(f->repo->SaveBlob(BlobType::kData, AsBytes("hello"))).id;
  f->empty_tree_id = Must(f->repo->SaveBlob(BlobType::kTree, EncodeTree(Tree{}))).id;
  FUZZ_CHECK(f->repo->Flush().ok());
  fs::create_directories(f->root / "sandbox");
  // libFuzzer ends a run with exit(); a crash leaves the folder for inspection.
  std::atexit([] {
    std::error_code ec;
    fs::remove_all(GetFixture()->root, ec);
  });
  return f;
}

// Points subtrees at later trees and content at the stored blob, so every id resolves.
void Link(Tree* tree, size_t index, const std::vector<Id>& later, const Fixture& f) {
  size_t k = 0;
  for (Node& n : tree->nodes) {
    ++k;
    if (n.type == NodeType::kDir) {
      n.subtree = later.empty() ? f.empty_tree_id : later[(index + k) % later.size()];
    } else if (n.type == NodeType::kFile) {
      size_t count = std::min<size_t>(n.content.size(), 3);
      n.content.assign(count, f.data_id);
      n.size = 5 * count;
    }
  }
}

Fixture* GetFixture() {
  static Fixture* f = MakeFixture();
  return f;
}

void CheckSandbox(const Fixture& f) {
  for (const auto& entry : fs::directory_iterator(f.root / "sandbox"))
    FUZZ_CHECK(entry.path().filename() == "target");
  for (const auto& entry : fs::directory_iterator(f.root)) {
    std::string name = entry.path().filename();
    FUZZ_CHECK(name == "repo" || name == "cache" || name == "sandbox");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture* f = GetFixture();
  FuzzedDataProvider fdp(data, size);
  std::vector<Tree> trees;
  size_t count = fdp.ConsumeIntegralInRange<size_t>(1, 4);
  for (size_t n = 0; n < count && fdp.remaining_bytes() > 0; ++n) {
    Bytes plain = fdp.ConsumeBytes<uint8_t>(fdp.ConsumeIntegralInRange<size_t>(0, 2048));
    Result<Tree> tree = DecodeTree(plain);
    if (!tree.ok()) break;
    trees.push_back(std::move(tree).value());
  }
  if (trees.empty()) return 0;

  std::vector<Id> ids(trees.size());
  for (size_t i = trees.size(); i-- > 0;) {
    std::vector<Id> later(ids.begin() + i + 1, ids.end());
    Link(&trees[i], i, later, *f);
    ids[i] = Must(f->repo->SaveBlob(BlobType::kTree, EncodeTree(trees[i]))).id;
  }
  FUZZ_CHECK(f->repo->Flush().ok());

  Snapshot snap;
  snap.tree = ids[0];
  Reporter quiet;
  RestoreOptions options;
  options.target = f->root / "sandbox" / "target";
  options.threads = 1;
  (void)RestoreToDir(f->repo.get(), snap, options, &quiet);
  CheckSandbox(*f);
  options.in_place = true;
  options.delete_extra = true;
  (void)RestoreToDir(f->repo.get(), snap, options, &quiet);
  CheckSandbox(*f);
  std::error_code ec;
  fs::remove_all(options.target, ec);
  FUZZ_CHECK(!ec);
  return 0;
}
