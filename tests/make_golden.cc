// make_golden: writes the golden files of repository format v1 (tests/data/format-v1/).
//
//   make_golden OUT_DIR [SCRATCH_DIR]
//   make_golden --records OUT_DIR
//
// --records writes only the plaintexts of the optional objects added to version 1 later
// (prune record, scrub state, repair record; FORMAT.md 13.1-13.3), each only if absent: they
// are fixed values, so an existing folder gains them without touching its other files.
//
// Run once per format version; the files it wrote are committed, and
// repo/format_golden_test.cc and repo/format_golden_repo_test.cc decode them
// forever. Version 1's files were last written before v1 was released (after the
// v1 hardening: seal domains, config MAC key, ...); from the first release on they
// are never written again: running it again produces different bytes (random
// keys, nonces, ids), which is why it refuses to write into a folder that already
// has files. Only a new format version uses it (adapted) to add its own
// tests/data/format-vN folder.
//
// SCRATCH_DIR (default /tmp/cairn-make-golden) holds the source tree that is
// backed up; its absolute path ends up in the snapshots, so keep the default.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "repo/backup.h"
#include "repo/index_file.h"
#include "repo/pack.h"
#include "repo/prune_record.h"
#include "repo/repair_record.h"
#include "repo/repository.h"
#include "repo/scrub_state.h"
#include "repo/snapshot.h"
#include "repo/tree.h"
#include "repo/walker.h"

namespace fs = std::filesystem;

namespace cairn {
namespace {

constexpr char kPassword[] = "golden-password";
constexpr int64_t kSecond = 1000000000;
constexpr int64_t kBaseTimeNs = 1700000000 * kSecond;  // 2023-11-14T22:13:20Z

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "make_golden: " << what << "\n";
  std::exit(1);
}
void Check(const Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.ToString());
}
template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) Die(what + ": " + r.status().ToString());
  return std::move(r).value();
}

// ---------------------------------------------------------------- fixed values
// Keep in step with README.md and the golden tests (repo/format_golden*_test.cc).

// The id whose bytes are first, first + 1, ..., first + 31 (mod 256).
Id FixedId(uint8_t first) {
  Id id;
  for (size_t i = 0; i < Id::kSize; ++i) id.bytes[i] = static_cast<uint8_t>(first + i);
  return id;
}

// Keys of the standalone golden files: bytes start, start + 1, ..., start + 31.
Key32 FixedKey(uint8_t start) {
  Key32 k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(start + i);
  return k;
}

BlobEntry Entry(BlobType type, uint8_t id, uint64_t offset, uint64_t length, uint64_t raw_length,
                Compression c) {
  BlobEntry e;
  e.type = type;
  e.id = FixedId(id);
  e.offset = offset;
  e.length = length;
  e.raw_length = raw_length;
  e.compression = c;
  return e;
}

std::vector<BlobEntry> TrailerEntries() {
  return {Entry(BlobType::kData, 0x10, 8, 4124, 4096, Compression::kNone),
          Entry(BlobType::kData, 0x30, 4132, 1028, 65536, Compression::kZstd),
          Entry(BlobType::kTree, 0x50, 5160, 300, 1000, Compression::kZstd)};
}

Bytes TrailerPlaintext() {
  Encoder enc;
  enc.U8(kPackTrailerVersion);
  std::vector<BlobEntry> entries = TrailerEntries();
  enc.Varint(entries.size());
  for (const BlobEntry& e : entries) EncodeBlobEntry(e, &enc);
  return enc.Take();
}

std::vector<IndexedPack> IndexPacks() {
  return {IndexedPack{FixedId(0xa0), 5600, TrailerEntries()},
          IndexedPack{FixedId(0xc0),
                      300000,
                      {Entry(BlobType::kTree, 0xe0, 8, 200028, 200000, Compression::kNone),
                       Entry(BlobType::kData, 0xf0, 200036, 50000, 1 << 20, Compression::kZstd)}}};
}

// The smallest blob entries there are (37 bytes: every varint one byte): tiny blobs stored
// raw, back to back from offset 8 (offsets and lengths below 128). The 2-byte tree blob is
// what an empty tree encodes to. The blob area ends at 158.
std::vector<BlobEntry> TinyTrailerEntries() {
  return {Entry(BlobType::kData, 0x10, 8, 28, 0, Compression::kNone),
          Entry(BlobType::kData, 0x30, 36, 29, 1, Compression::kNone),
          Entry(BlobType::kTree, 0x50, 65, 30, 2, Compression::kNone),
          Entry(BlobType::kData, 0x70, 95, 31, 3, Compression::kNone),
          Entry(BlobType::kData, 0x90, 126, 32, 4, Compression::kNone)};
}

Bytes TinyTrailerPlaintext() {
  Encoder enc;
  enc.U8(kPackTrailerVersion);
  std::vector<BlobEntry> entries = TinyTrailerEntries();
  enc.Varint(entries.size());
  for (const BlobEntry& e : entries) EncodeBlobEntry(e, &enc);
  return enc.Take();
}

// Pack 0xa0 is the pack of the tiny trailer (158 + 28 + 187 + 12 = 385 bytes); pack 0xc0 is
// the smallest pack with a blob: one empty blob (8 + 28 + 28 + 39 + 12 = 115 bytes).
std::vector<IndexedPack> TinyIndexPacks() {
  return {IndexedPack{FixedId(0xa0), 385, TinyTrailerEntries()},
          IndexedPack{FixedId(0xc0), 115, {Entry(BlobType::kData, 0xe0, 8, 28, 0, Compression::kNone)}}};
}

// Nodes of the smallest encoding (15 bytes): one-byte names, every number below 64 or 128,
// no user or group names, no content (empty files) or an empty symlink target.
Tree MinimalTree() {
  Tree t;
  Node a;
  a.name = "a";
  a.type = NodeType::kFile;
  t.nodes.push_back(a);

  Node b;  // the largest values that still take one byte each
  b.name = "b";
  b.type = NodeType::kFile;
  b.mode = 0177;
  b.uid = 127;
  b.gid = 127;
  b.mtime_ns = -64;
  b.ctime_ns = 63;
  b.inode = 127;
  b.device = 127;
  b.flags = kNodeChangedDuringRead;
  t.nodes.push_back(b);

  Node l;
  l.name = "l";
  l.type = NodeType::kSymlink;
  t.nodes.push_back(l);
  return t;
}

Tree GoldenTree() {
  Tree t;
  Node dir;
  dir.name = "dir";
  dir.type = NodeType::kDir;
  dir.mode = 0755;
  dir.uid = 1000;
  dir.gid = 1000;
  dir.user = "alice";
  dir.group = "staff";
  dir.mtime_ns = 1700000000123456789;
  dir.ctime_ns = 1700000001000000000;
  dir.inode = 1234567;
  dir.device = 2049;
  dir.subtree = FixedId(0x70);
  t.nodes.push_back(dir);

  Node file;
  file.name = "file.txt";
  file.type = NodeType::kFile;
  file.mode = 0644;
  file.user = "root";
  file.group = "root";
  file.mtime_ns = -1;  // one nanosecond before the epoch: pins zig-zag
  file.ctime_ns = -1234567890123;
  file.inode = (uint64_t{1} << 40) + 1;
  file.size = 300000;
  file.flags = kNodeChangedDuringRead;
  file.content = {FixedId(0x10), FixedId(0x30), FixedId(0x10)};
  t.nodes.push_back(file);

  Node link;
  link.name = "link";
  link.type = NodeType::kSymlink;
  link.mode = 0777;
  link.uid = 4294967295u;
  link.gid = 65534;
  link.group = "nogroup";
  link.link_target = "../target/\xc3\xa9t\xc3\xa9";
  t.nodes.push_back(link);

  Node utf8;  // "été": sorts after every ASCII name (bytes compare unsigned)
  utf8.name = "\xc3\xa9t\xc3\xa9";
  utf8.type = NodeType::kFile;
  utf8.mode = 0600;
  utf8.uid = 1000;
  utf8.gid = 1000;
  utf8.user = "alice";
  utf8.group = "staff";
  utf8.mtime_ns = 1700000000 * kSecond;
  utf8.ctime_ns = 1700000000 * kSecond;
  utf8.inode = 99;
  utf8.device = 2049;
  t.nodes.push_back(utf8);

  Node raw;  // not UTF-8 at all: names are bytes
  raw.name = "\xff\xfe-raw";
  raw.type = NodeType::kDir;
  raw.mode = 0700;
  raw.subtree = FixedId(0x71);
  t.nodes.push_back(raw);
  return t;
}

Snapshot GoldenSnapshot() {
  Snapshot s;
  s.time_ns = 1700000000 * kSecond;
  s.host = "golden-host";
  s.user = "alice";
  s.paths = {"/home/alice/docs", "/etc/h\xc3\xb4te"};
  s.tags = {"daily", "v1"};
  s.kind = "files";
  s.tree = FixedId(0x80);
  s.parent = FixedId(0x90);
  s.flags = kSnapshotPartial;
  s.stats = SnapshotStats{3, 1, 1, 300000, 2, 69632, 5152, 1};
  return s;
}

// Pseudo-random bytes: xorshift64, one byte (bits 24..31) per step.
Bytes PseudoRandom(size_t n, uint64_t seed) {
  Bytes b(n);
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    b[i] = static_cast<uint8_t>(s >> 24);
  }
  return b;
}

// Compressible text: "line 000000 of the golden text\n", ...
Bytes Lines(size_t count, const std::string& what) {
  std::string s;
  char buf[96];
  for (size_t i = 0; i < count; ++i) {
    std::snprintf(buf, sizeof(buf), "line %06zu of the %s\n", i, what.c_str());
    s += buf;
  }
  return Bytes(s.begin(), s.end());
}

Bytes Text(std::string_view s) { return Bytes(s.begin(), s.end()); }

// ---------------------------------------------------------------- file output

void WriteBytes(const std::string& path, ByteView data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!out) Die("write " + path);
}

void WritePlaintexts(const std::string& out) {
  WriteBytes(out + "/pack_trailer.bin", TrailerPlaintext());
  WriteBytes(out + "/index_file.bin", EncodeIndexFile(IndexPacks()));
  Tree tree = GoldenTree();
  SortTree(&tree);
  WriteBytes(out + "/tree.bin", EncodeTree(tree));
  WriteBytes(out + "/snapshot.bin", EncodeSnapshot(GoldenSnapshot()));
  WriteBytes(out + "/pack_trailer_tiny.bin", TinyTrailerPlaintext());
  WriteBytes(out + "/index_file_tiny.bin", EncodeIndexFile(TinyIndexPacks()));
  WriteBytes(out + "/tree_minimal.bin", EncodeTree(MinimalTree()));

  // The snapshot above sealed as a snapshot object (domain 'S'), both ways.
  Bytes plain = EncodeSnapshot(GoldenSnapshot());
  Bytes env;
  Sealer(FixedKey(0x00), false).Seal(plain, SealDomain::kSnapshot, &env);
  WriteBytes(out + "/envelope_unencrypted.bin", env);
  env.clear();
  Sealer(FixedKey(0x00), true).Seal(plain, SealDomain::kSnapshot, &env);
  WriteBytes(out + "/envelope_aes256gcm.bin", env);

  // A whole pack sealed without encryption (so it is readable with no key),
  // blob ids under the id key 0x20..0x3f.
  IdHasher hasher(FixedKey(0x20));
  Sealer sealer(FixedKey(0x00), false);
  PackBuilder pack;
  Tree small;
  small.nodes.push_back(GoldenTree().nodes[1]);
  std::vector<std::pair<BlobType, Bytes>> blobs = {
      {BlobType::kData, Lines(200, "golden pack")},  // compresses: stored zstd
      {BlobType::kData, PseudoRandom(3000, 7)},      // incompressible: stored raw
      {BlobType::kTree, EncodeTree(small)}};
  for (const auto& [type, plaintext] : blobs)
    pack.Add(SealBlob(type, hasher.Hash(plaintext), plaintext, kDefaultCompressionLevel, sealer));
  WriteBytes(out + "/pack_unencrypted.bin", pack.Finish(sealer));
}

// ---------------------------------------------------------------- the source tree

class SourceTree {
 public:
  explicit SourceTree(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  void Dir(const std::string& rel, mode_t mode, int64_t mtime_ns) {
    std::string p = Path(rel);
    if (mkdir(p.c_str(), 0700) != 0 && errno != EEXIST) Die("mkdir " + p);
    if (chmod(p.c_str(), mode) != 0) Die("chmod " + p);
    Time(rel, mtime_ns);
  }
  void File(const std::string& rel, ByteView data, mode_t mode, int64_t mtime_ns) {
    std::string p = Path(rel);
    WriteBytes(p, data);
    if (chmod(p.c_str(), mode) != 0) Die("chmod " + p);
    Time(rel, mtime_ns);
  }
  void Link(const std::string& rel, const std::string& target, int64_t mtime_ns) {
    std::string p = Path(rel);
    unlink(p.c_str());
    if (symlink(target.c_str(), p.c_str()) != 0) Die("symlink " + p);
    Time(rel, mtime_ns);
  }
  void Remove(const std::string& rel) {
    fs::remove_all(Path(rel));
    times_.erase(rel);
  }
  void Touch(const std::string& rel, int64_t mtime_ns) { Time(rel, mtime_ns); }
  // Sets every recorded mtime, deepest paths first (writing into a folder changes its mtime).
  void ApplyTimes() {
    std::vector<std::string> rels;
    for (const auto& [rel, t] : times_) rels.push_back(rel);
    std::sort(rels.begin(), rels.end(), [](const std::string& a, const std::string& b) {
      return std::count(a.begin(), a.end(), '/') > std::count(b.begin(), b.end(), '/');
    });
    for (const std::string& rel : rels) {
      int64_t ns = times_[rel];
      struct timespec ts[2];
      ts[0].tv_sec = ts[1].tv_sec = ns / kSecond;
      ts[0].tv_nsec = ts[1].tv_nsec = ns % kSecond;
      if (utimensat(AT_FDCWD, Path(rel).c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
        Die("utimensat " + rel);
    }
  }

 private:
  std::string Path(const std::string& rel) const { return rel.empty() ? root_ : root_ + "/" + rel; }
  void Time(const std::string& rel, int64_t ns) { times_[rel] = ns; }
  std::string root_;
  std::map<std::string, int64_t> times_;
};

int64_t T(int64_t seconds, int64_t ns = 0) { return kBaseTimeNs + seconds * kSecond + ns; }

void BuildVersion1(SourceTree* t) {
  t->Dir("", 0755, T(100, 1));
  t->File("README.txt", Text("golden tree, version 1\n"), 0644, T(1, 123456789));
  t->File("random.bin", PseudoRandom(100 * 1024, 1), 0600, T(2));
  t->File("empty", {}, 0644, T(3));
  t->File("zeros.bin", Bytes(70000, 0), 0644, T(4));  // constant bytes: cut at max_size
  t->File("text.log", Lines(1200, "golden log"), 0640, T(5, 5));
  t->File("caf\xc3\xa9.txt", Text("non-ASCII file name\n"), 0644, T(6));
  t->Link("link", "README.txt", T(7));
  t->Link("dangling", "/nonexistent/target", T(8));
  t->Dir("sub", 0750, T(90));
  t->File("sub/script.sh", Text("#!/bin/sh\necho golden\n"), 0755, T(9));
  t->Dir("sub/nested", 0700, T(80));
  t->File("sub/nested/deep.txt", Text("deep\n"), 0644, T(10));
  t->ApplyTimes();
}

void BuildVersion2(SourceTree* t) {
  t->File("README.txt", Text("golden tree, version 2 (changed)\n"), 0644, T(201));
  Bytes r = PseudoRandom(100 * 1024, 1);
  Bytes patch = PseudoRandom(100, 2);
  std::copy(patch.begin(), patch.end(), r.begin() + 50000);  // edit in the middle
  Bytes tail = PseudoRandom(3000, 3);
  r.insert(r.end(), tail.begin(), tail.end());  // and append
  t->File("random.bin", r, 0600, T(202));
  t->Remove("dangling");
  t->File("sub/new.txt", Text("added in version 2\n"), 0644, T(203));
  t->Touch("sub", T(290));
  t->Touch("", T(300));
  t->ApplyTimes();
}

// ---------------------------------------------------------------- manifest

std::vector<size_t> ChunkSizes(Repository* repo, ByteView data) {
  MemReader reader(data);
  Chunker chunker(repo->gear(), repo->config().chunker, &reader);
  std::vector<size_t> sizes;
  for (;;) {
    std::optional<ByteView> c = Must(chunker.Next(), "chunk");
    if (!c) break;
    sizes.push_back(c->size());
  }
  return sizes;
}

std::string Join(const std::vector<std::string>& v) {
  if (v.empty()) return "-";
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

std::string SizesField(const std::vector<size_t>& sizes) {
  std::vector<std::string> v;
  for (size_t n : sizes) v.push_back(std::to_string(n));
  return Join(v);
}

std::string Octal(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04o", mode);
  return buf;
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * kSecond + st.st_mtim.tv_nsec;
}

Bytes ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void CheckToken(const std::string& s) {
  if (s.empty() || s.find_first_of(" \t\n=,") != std::string::npos)
    Die("manifest token '" + s + "'");
}

// Lists the source tree as it is now, as the restore of its snapshot must reproduce it.
void DescribeTree(Repository* repo, const std::string& abs, const std::string& rel,
                  std::string* out) {
  struct stat st;
  if (lstat(abs.c_str(), &st) != 0) Die("lstat " + abs);
  CheckToken(rel);
  if (S_ISLNK(st.st_mode)) {
    std::string target = fs::read_symlink(abs).string();
    CheckToken(target);
    *out += "symlink path=" + rel + " target=" + target +
            " mtime_ns=" + std::to_string(MtimeNs(st)) + "\n";
    return;
  }
  if (S_ISREG(st.st_mode)) {
    Bytes data = ReadBytes(abs);
    *out += "file path=" + rel + " mode=" + Octal(st.st_mode & 07777) +
            " mtime_ns=" + std::to_string(MtimeNs(st)) + " size=" + std::to_string(data.size()) +
            " sha256=" + Sha256(data).Hex() + " chunks=" + SizesField(ChunkSizes(repo, data)) +
            "\n";
    return;
  }
  if (!S_ISDIR(st.st_mode)) Die("unexpected file type " + abs);
  *out += "dir path=" + rel + " mode=" + Octal(st.st_mode & 07777) +
          " mtime_ns=" + std::to_string(MtimeNs(st)) + "\n";
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(abs)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) DescribeTree(repo, abs + "/" + n, rel + "/" + n, out);
}

std::string DescribeSnapshot(const Id& id, const Snapshot& s) {
  const SnapshotStats& st = s.stats;
  std::string line =
      "snapshot id=" + id.Hex() + " time_ns=" + std::to_string(s.time_ns) + " host=" + s.host +
      " user=" + (s.user.empty() ? "-" : s.user) + " kind=" + s.kind +
      " stdin_name=" + (s.stdin_name.empty() ? "-" : s.stdin_name) + " paths=" + Join(s.paths) +
      " tags=" + Join(s.tags) + " flags=" + std::to_string(s.flags) + " tree=" + s.tree.Hex() +
      " parent=" + s.parent.Hex() + " files=" + std::to_string(st.files) +
      " dirs=" + std::to_string(st.dirs) + " symlinks=" + std::to_string(st.symlinks) +
      " bytes_raw=" + std::to_string(st.bytes_raw) +
      " blobs_added=" + std::to_string(st.blobs_added) +
      " bytes_added_raw=" + std::to_string(st.bytes_added_raw) +
      " bytes_added_stored=" + std::to_string(st.bytes_added_stored) +
      " errors=" + std::to_string(st.errors) + "\n";
  return line;
}

// Removes empty folders (git cannot store them; the repository works without them).
void PruneEmptyDirs(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && !e.is_symlink()) PruneEmptyDirs(e.path().string());
  if (fs::is_empty(dir)) fs::remove(dir);
}

std::string WriteRepository(const std::string& out, const std::string& scratch) {
  fs::remove_all(scratch);
  fs::create_directories(scratch);
  const std::string repo_dir = out + "/repo";

  InitOptions init;
  init.encrypt = true;
  init.chunker = ChunkerParams{2 << 10, 8 << 10, 32 << 10};
  init.pack_size = 1 << 20;
  init.compression_level = kDefaultCompressionLevel;
  init.scrypt = ScryptParams{};  // the defaults: N = 2^15, r = 8, p = 1
  {
    std::unique_ptr<Backend> b = Must(OpenLocalBackend(repo_dir, true), "create repository");
    Check(Repository::Init(b.get(), kPassword, init), "init");
  }
  OpenOptions open;
  open.cache_dir = scratch + "/cache";
  std::unique_ptr<Repository> repo = Must(
      Repository::Open(Must(OpenLocalBackend(repo_dir, false), "open backend"), kPassword, open),
      "open");

  SourceTree tree(scratch + "/golden-tree");
  std::string manifest =
      "# Expected content of the golden repositories, written by tests/make_golden.cc.\n"
      "# A 'repository' line starts a repository, a 'snapshot' line one of its snapshots;\n"
      "# the lines after a snapshot describe its restore.\n"
      "# Paths are relative to the restore target; chunks= lists the chunk sizes in order.\n"
      "repository dir=repo password=golden-password\n";

  BackupOptions opt;
  opt.host = "golden-host";
  opt.threads = 1;

  BuildVersion1(&tree);
  opt.tags = {"golden", "v1"};
  opt.time_ns = T(1000);
  BackupResult s1 = Must(BackupPaths(repo.get(), {tree.root()}, opt, nullptr), "snapshot 1");
  manifest += DescribeSnapshot(s1.snapshot_id, s1.snapshot);
  DescribeTree(repo.get(), tree.root(), "golden-tree", &manifest);

  BuildVersion2(&tree);
  opt.tags = {"golden", "v2"};
  opt.time_ns = T(2000);
  BackupResult s2 = Must(BackupPaths(repo.get(), {tree.root()}, opt, nullptr), "snapshot 2");
  manifest += DescribeSnapshot(s2.snapshot_id, s2.snapshot);
  DescribeTree(repo.get(), tree.root(), "golden-tree", &manifest);

  // A stream: compressible rows with an incompressible stretch in the middle.
  Bytes stream = Lines(1500, "golden dump");
  Bytes noise = PseudoRandom(20000, 4);
  stream.insert(stream.begin() + 30000, noise.begin(), noise.end());
  opt.tags = {};
  opt.kind = "pg-dump";
  opt.time_ns = T(3000);
  MemReader reader(stream);
  BackupResult s3 =
      Must(BackupStream(repo.get(), &reader, "db.dump", opt, nullptr, nullptr), "snapshot 3");
  manifest += DescribeSnapshot(s3.snapshot_id, s3.snapshot);
  manifest += "stream name=db.dump size=" + std::to_string(stream.size()) +
              " sha256=" + Sha256(stream).Hex() +
              " chunks=" + SizesField(ChunkSizes(repo.get(), stream)) + "\n";
  repo.reset();

  PruneEmptyDirs(repo_dir);
  fs::remove_all(scratch);
  return manifest;
}

// An unencrypted repository (kdf "none", zero-nonce envelopes) holding one stream snapshot.
std::string WriteUnencryptedRepository(const std::string& out, const std::string& scratch) {
  fs::remove_all(scratch);
  fs::create_directories(scratch);
  const std::string repo_dir = out + "/repo-unencrypted";
  InitOptions init;
  init.encrypt = false;
  init.chunker = ChunkerParams{2 << 10, 8 << 10, 32 << 10};
  init.pack_size = 1 << 20;
  {
    std::unique_ptr<Backend> b = Must(OpenLocalBackend(repo_dir, true), "create repository");
    Check(Repository::Init(b.get(), "", init), "init");
  }
  OpenOptions open;
  open.cache_dir = scratch + "/cache";
  std::unique_ptr<Repository> repo = Must(
      Repository::Open(Must(OpenLocalBackend(repo_dir, false), "open backend"), "", open), "open");
  Bytes stream = Lines(400, "unencrypted stream");
  BackupOptions opt;
  opt.host = "golden-host";
  opt.threads = 1;
  opt.time_ns = T(4000);
  MemReader reader(stream);
  BackupResult s =
      Must(BackupStream(repo.get(), &reader, "notes.txt", opt, nullptr, nullptr), "snapshot");
  std::string manifest = "repository dir=repo-unencrypted password=-\n";
  manifest += DescribeSnapshot(s.snapshot_id, s.snapshot);
  manifest += "stream name=notes.txt size=" + std::to_string(stream.size()) +
              " sha256=" + Sha256(stream).Hex() +
              " chunks=" + SizesField(ChunkSizes(repo.get(), stream)) + "\n";

  // An empty stream: no data blob, only a small root tree, alone in its pack. Its pack
  // trailer and index file consist of one 37-byte blob entry (the smallest there is).
  MemReader empty_reader(ByteView{});
  opt.time_ns = T(5000);
  BackupResult e = Must(BackupStream(repo.get(), &empty_reader, "empty.txt", opt, nullptr, nullptr),
                        "empty snapshot");
  manifest += DescribeSnapshot(e.snapshot_id, e.snapshot);
  manifest += "stream name=empty.txt size=0 sha256=" + Sha256(ByteView{}).Hex() + " chunks=-\n";
  repo.reset();
  PruneEmptyDirs(repo_dir);
  fs::remove_all(scratch);
  return manifest;
}

}  // namespace
}  // namespace cairn

namespace cairn {

// The optional record objects of FORMAT.md 13.1-13.3, as plaintexts of fixed values.
void WriteRecordPlaintexts(const std::string& out) {
  PruneRecord prune;
  prune.mark_time_ns = kBaseTimeNs + 5 * kSecond;
  prune.grace_ns = 48 * 3600 * kSecond;
  prune.packs = {PrunePack{FixedId(0x10), 16777229}, PrunePack{FixedId(0x30), 300}};

  ScrubState scrub;
  scrub.written_ns = kBaseTimeNs + 7 * kSecond;
  scrub.run_bytes = 3790000000;
  scrub.run_ns = 4100000000;
  scrub.packs[FixedId(0x10)] = PackCheck{kBaseTimeNs + 6 * kSecond, false};
  scrub.packs[FixedId(0x50)] = PackCheck{kBaseTimeNs - 86400 * kSecond, true};

  RepairRecord repair;
  repair.time_ns = kBaseTimeNs + 9 * kSecond;
  repair.quarantined = {PrunePack{FixedId(0x50), 4096}};
  repair.damaged = {DamagedSnapshot{FixedId(0x70), 2, 3, {"app/a.bin", "app/h\xc3\xb4te/b", "db"}},
                    DamagedSnapshot{FixedId(0x90), 1, 0, {}}};

  const std::pair<std::string, Bytes> files[] = {
      {"prune_record.bin", EncodePruneRecord(prune)},
      {"scrub_state.bin", EncodeScrubState(scrub)},
      {"repair_record.bin", EncodeRepairRecord(repair)},
  };
  for (const auto& [name, bytes] : files) {
    if (fs::exists(out + "/" + name)) Die(out + "/" + name + " exists; golden files are never rewritten");
    WriteBytes(out + "/" + name, bytes);
  }
}

}  // namespace cairn

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--records") {
    cairn::WriteRecordPlaintexts(argv[2]);
    std::cout << "wrote record golden files to " << argv[2] << "\n";
    return 0;
  }
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: make_golden OUT_DIR [SCRATCH_DIR] | make_golden --records OUT_DIR\n";
    return 2;
  }
  std::string out = argv[1];
  std::string scratch = argc > 2 ? argv[2] : "/tmp/cairn-make-golden";
  fs::create_directories(out);
  for (const auto& e : fs::directory_iterator(out)) {
    if (e.path().filename() != "README.md")
      cairn::Die(out + " already holds golden files (" + e.path().filename().string() +
                 "); they are never regenerated");
  }
  cairn::WritePlaintexts(out);
  std::string manifest = cairn::WriteRepository(out, scratch);
  manifest += cairn::WriteUnencryptedRepository(out, scratch);
  cairn::WriteBytes(out + "/repo-manifest.txt", cairn::Text(manifest));
  std::cout << "wrote golden files to " << out << "\n";
  return 0;
}
