// Golden repositories of format v1 (tests/data/format-v1/README.md): opened, listed,
// restored and checked object by object against repo-manifest.txt and docs/FORMAT.md.
//
// The repositories were written by tests/make_golden.cc; once format v1 is released they are
// never regenerated. If a test here fails, the code can no longer read repositories
// that exist: fix the code. Never edit the golden files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "repo/format_golden_util.h"
#include "repo/index_file.h"
#include "repo/pack.h"
#include "repo/repository.h"
#include "repo/restore.h"
#include "repo/snapshot.h"
#include "repo/tree.h"
#include "repo/walker.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;
using golden::Golden;
using golden::GoldenDir;
using golden::OpenByHand;
using golden::OpenOnlyAs;
using golden::ReadAll;
using golden::ScratchDir;
using golden::Text;

void ExpectSameEntry(const BlobEntry& a, const BlobEntry& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.offset, b.offset);
  EXPECT_EQ(a.length, b.length);
  EXPECT_EQ(a.raw_length, b.raw_length);
  EXPECT_EQ(a.compression, b.compression);
}

using Fields = std::map<std::string, std::string>;
struct ManifestEntry {
  std::string kind;  // file, dir, symlink, stream
  Fields f;
};
struct ManifestSnapshot {
  Fields f;
  std::vector<ManifestEntry> entries;
};
struct ManifestRepo {
  std::string dir, password;
  std::vector<ManifestSnapshot> snapshots;
};

std::vector<ManifestRepo> ReadManifest() {
  std::vector<ManifestRepo> repos;
  std::istringstream in(std::string(AsString(Golden("repo-manifest.txt"))));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string kind, word;
    words >> kind;
    Fields f;
    while (words >> word) {
      size_t eq = word.find('=');
      f[word.substr(0, eq)] = eq == std::string::npos ? "" : word.substr(eq + 1);
    }
    if (kind == "repository") {
      repos.push_back({f["dir"], f["password"] == "-" ? "" : f["password"], {}});
    } else if (kind == "snapshot") {
      repos.back().snapshots.push_back({f, {}});
    } else {
      repos.back().snapshots.back().entries.push_back({kind, f});
    }
  }
  return repos;
}

std::vector<std::string> List(const std::string& v) {
  std::vector<std::string> out;
  if (v == "-") return out;
  std::istringstream in(v);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

std::vector<size_t> Sizes(const std::string& v) {
  std::vector<size_t> out;
  for (const std::string& s : List(v)) out.push_back(std::stoull(s));
  return out;
}

// A golden repository copied to a scratch folder (tests never write into the source tree)
// and opened with its password.
struct OpenedRepo {
  std::unique_ptr<ScratchDir> scratch = std::make_unique<ScratchDir>();
  std::string dir;
  std::unique_ptr<Repository> repo;
  MasterKey key;
};

std::unique_ptr<OpenedRepo> OpenGolden(const ManifestRepo& m) {
  auto r = std::make_unique<OpenedRepo>();
  r->dir = r->scratch->path() + "/repo";
  fs::copy(GoldenDir() + "/" + m.dir, r->dir, fs::copy_options::recursive);
  Result<std::unique_ptr<Backend>> backend = OpenLocalBackend(r->dir, false);
  EXPECT_TRUE(backend.ok()) << backend.status().ToString();
  if (!backend.ok()) return nullptr;
  Result<MasterKey> key = LoadMasterKey(backend->get(), m.password);
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  if (!key.ok()) return nullptr;
  r->key = *key;
  OpenOptions options;
  options.cache_dir = r->scratch->path() + "/cache";
  Result<std::unique_ptr<Repository>> repo =
      Repository::Open(std::move(backend).value(), m.password, options);
  EXPECT_TRUE(repo.ok()) << repo.status().ToString();
  if (!repo.ok()) return nullptr;
  r->repo = std::move(repo).value();
  EXPECT_TRUE(r->repo->warnings().empty());
  return r;
}

std::string ExtractJsonString(std::string_view json, const std::string& key) {
  std::string needle = "\"" + key + "\": \"";
  size_t at = json.find(needle);
  if (at == std::string_view::npos) return "";
  size_t start = at + needle.size();
  return std::string(json.substr(start, json.find('"', start) - start));
}

TEST(FormatGoldenRepo, ManifestDescribesBothRepositories) {
  std::vector<ManifestRepo> repos = ReadManifest();
  ASSERT_EQ(repos.size(), 2u);
  EXPECT_EQ(repos[0].dir, "repo");
  EXPECT_EQ(repos[0].password, "golden-password");
  EXPECT_EQ(repos[0].snapshots.size(), 3u);
  EXPECT_EQ(repos[1].dir, "repo-unencrypted");
  EXPECT_EQ(repos[1].snapshots.size(), 2u);
}

TEST(FormatGoldenRepo, ObjectsAreContentNamed) {
  for (const ManifestRepo& m : ReadManifest()) {
    const std::string root = GoldenDir() + "/" + m.dir;
    ASSERT_TRUE(fs::is_regular_file(root + "/config"));
    std::map<std::string, int> per_folder;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (!e.is_regular_file()) continue;
      std::string rel = e.path().lexically_relative(root).string();
      if (rel == "config") continue;
      std::string folder = rel.substr(0, rel.find('/'));
      std::string name = e.path().filename().string();
      SCOPED_TRACE(m.dir + "/" + rel);
      ASSERT_TRUE(folder == "keys" || folder == "data" || folder == "index" ||
                  folder == "snapshots");
      EXPECT_EQ(Sha256(ReadAll(e.path().string())).Hex(), name);
      if (folder == "data") {
        EXPECT_EQ(rel, "data/" + name.substr(0, 2) + "/" + name);
      }
      ++per_folder[folder];
    }
    EXPECT_EQ(per_folder["keys"], 1);
    EXPECT_EQ(per_folder["snapshots"], static_cast<int>(m.snapshots.size()));
  }
}

TEST(FormatGoldenRepo, ConfigAndKeyFile) {
  for (const ManifestRepo& m : ReadManifest()) {
    SCOPED_TRACE(m.dir);
    std::unique_ptr<OpenedRepo> r = OpenGolden(m);
    ASSERT_TRUE(r);
    const bool encrypted = !m.password.empty();
    Bytes config_bytes = ReadAll(r->dir + "/config");
    Result<RepoConfig> c = RepoConfig::Decode(config_bytes);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->version, 1u);
    EXPECT_EQ(c->id.size(), 64u);
    EXPECT_EQ(c->encrypted, encrypted);
    EXPECT_EQ(c->chunker.min_size, 2048u);
    EXPECT_EQ(c->chunker.avg_size, 8192u);
    EXPECT_EQ(c->chunker.max_size, 32768u);
    EXPECT_EQ(c->pack_size, 1u << 20);
    EXPECT_EQ(c->compression_level, 3);
    // The MAC key: HMAC-SHA-256(encryption key, "cairn config mac") -- not the id key.
    const Key32 mac_key = HmacSha256(r->key.encryption_key, Text("cairn config mac")).bytes;
    EXPECT_EQ(RepoConfig::MacKey(r->key.encryption_key), mac_key);
    EXPECT_TRUE(RepoConfig::Verify(config_bytes, mac_key).ok());
    EXPECT_FALSE(RepoConfig::Verify(config_bytes, r->key.id_key).ok());
    EXPECT_FALSE(RepoConfig::Verify(config_bytes, r->key.encryption_key).ok());
    // The writer's exact bytes, and the MAC over the canonical form docs/FORMAT.md spells out.
    EXPECT_EQ(c->Encode(mac_key), config_bytes);
    std::string canonical =
        std::string(
            "{\"chunker\":{\"algorithm\":\"fastcdc-v1\",\"avg_size\":8192,\"max_size\":32768,"
            "\"min_size\":2048},\"compression\":{\"algorithm\":\"zstd\",\"level\":3},"
            "\"encryption\":\"") +
        (encrypted ? "aes-256-gcm" : "none") + "\",\"id\":\"" + c->id +
        "\",\"pack_size\":1048576,\"version\":1}";
    EXPECT_EQ(ExtractJsonString(AsString(config_bytes), "mac"),
              HmacSha256(mac_key, AsBytes(canonical)).Hex());
    // The id is 64 lower-case hex digits (Decode checks it).
    EXPECT_EQ(c->id.find_first_not_of("0123456789abcdef"), std::string::npos);

    // The key file, opened by hand as docs/FORMAT.md describes it.
    std::string key_path;
    for (const auto& e : fs::directory_iterator(r->dir + "/keys")) key_path = e.path().string();
    Bytes key_file = ReadAll(key_path);
    std::string_view kj = AsString(key_file);
    Bytes master;
    for (const Key32* k : {&r->key.encryption_key, &r->key.id_key, &r->key.chunker_key})
      master.insert(master.end(), k->begin(), k->end());
    Result<Bytes> data = FromHex(ExtractJsonString(kj, "data"));
    ASSERT_TRUE(data.ok());
    if (!encrypted) {
      EXPECT_EQ(ExtractJsonString(kj, "kdf"), "none");
      EXPECT_EQ(*data, master);
      continue;
    }
    EXPECT_EQ(ExtractJsonString(kj, "kdf"), "scrypt");
    EXPECT_NE(kj.find("\"n\": 32768,"), std::string_view::npos);
    EXPECT_NE(kj.find("\"r\": 8,"), std::string_view::npos);
    EXPECT_NE(kj.find("\"p\": 1,"), std::string_view::npos);
    Result<Bytes> salt = FromHex(ExtractJsonString(kj, "salt"));
    ASSERT_TRUE(salt.ok());
    EXPECT_EQ(salt->size(), 32u);
    Result<Key32> kek = DeriveKey(m.password, *salt, ScryptParams{32768, 8, 1});
    ASSERT_TRUE(kek.ok());
    EXPECT_EQ(data->size(), 12 + 96 + 16u);
    Result<Bytes> opened = Sealer(*kek, true).Open(*data, SealDomain::kKeyFile);
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(*opened, master);
    // By hand: AES-256-GCM under the key-encryption key with associated data 'K'.
    EXPECT_EQ(OpenOnlyAs(true, *kek, *data, golden::kDomainKeyFile), master);
    EXPECT_EQ(OpenKeyFile(key_file, "not-the-password").status().code(), Code::kWrongPassword);
  }
}

TEST(FormatGoldenRepo, PacksAndIndexFiles) {
  for (const ManifestRepo& m : ReadManifest()) {
    SCOPED_TRACE(m.dir);
    std::unique_ptr<OpenedRepo> r = OpenGolden(m);
    ASSERT_TRUE(r);
    const bool encrypted = !m.password.empty();
    Backend* backend = r->repo->backend();
    std::map<Id, IndexedPack> indexed;
    ASSERT_TRUE(backend
                    ->List(ObjectType::kIndex,
                           [&](const std::string& name, uint64_t) {
                             Result<Bytes> sealed = backend->Get({ObjectType::kIndex, name});
                             if (!sealed.ok()) return sealed.status();
                             Result<Bytes> plain =
                                 r->repo->sealer().Open(*sealed, SealDomain::kIndexFile);
                             if (!plain.ok()) return plain.status();
                             EXPECT_EQ(OpenOnlyAs(encrypted, r->key.encryption_key, *sealed,
                                                  golden::kDomainIndexFile),
                                       *plain);
                             Result<std::vector<IndexedPack>> packs = DecodeIndexFile(*plain);
                             if (!packs.ok()) return packs.status();
                             for (IndexedPack& p : *packs)
                               EXPECT_TRUE(indexed.emplace(p.pack_id, p).second);
                             return Status::OK();
                           })
                    .ok());

    size_t packs = 0, minimal_trailers = 0;
    ASSERT_TRUE(
        backend
            ->List(
                ObjectType::kData,
                [&](const std::string& name, uint64_t size) {
                  SCOPED_TRACE("pack " + name);
                  ++packs;
                  Result<Bytes> bytes = backend->Get({ObjectType::kData, name});
                  if (!bytes.ok()) return bytes.status();
                  const Bytes& pack = *bytes;
                  EXPECT_EQ(pack.size(), size);
                  EXPECT_EQ(AsString(ByteView(pack).first(8)), std::string_view("CAIRNPK\x01", 8));
                  EXPECT_EQ(AsString(ByteView(pack).last(8)), std::string_view("CAIRNPK\x01", 8));
                  Result<std::vector<BlobEntry>> entries = ReadPackTrailer(
                      size, r->repo->sealer(), [&](uint64_t off, uint64_t len) -> Result<Bytes> {
                        return Bytes(pack.begin() + off, pack.begin() + off + len);
                      });
                  if (!entries.ok()) return entries.status();
                  // v1 writers put the blobs back to back, then the trailer envelope.
                  uint64_t offset = 8;
                  for (const BlobEntry& e : *entries) {
                    EXPECT_EQ(e.offset, offset);
                    offset += e.length;
                    Result<Bytes> plain = OpenBlob(e, ByteView(pack).subspan(e.offset, e.length),
                                                   r->repo->sealer(), r->repo->hasher());
                    EXPECT_TRUE(plain.ok()) << plain.status().ToString();
                    if (!plain.ok()) continue;
                    EXPECT_EQ(HmacSha256(r->key.id_key, *plain), e.id);
                    if (e.type == BlobType::kTree) {
                      EXPECT_TRUE(DecodeTree(*plain).ok());
                    }
                    // By hand: data blobs are sealed under 'D', tree blobs under 'T'.
                    EXPECT_TRUE(OpenOnlyAs(encrypted, r->key.encryption_key,
                                           ByteView(pack).subspan(e.offset, e.length),
                                           e.type == BlobType::kTree ? golden::kDomainTreeBlob
                                                                     : golden::kDomainDataBlob)
                                    .has_value());
                  }
                  const uint64_t trailer_len = GetU32LE(pack.data() + pack.size() - 12);
                  EXPECT_EQ(offset + trailer_len + 12, pack.size());
                  // The trailer envelope is sealed under 'P'.
                  std::optional<Bytes> trailer =
                      OpenOnlyAs(encrypted, r->key.encryption_key,
                                 ByteView(pack).subspan(offset, trailer_len),
                                 golden::kDomainPackTrailer);
                  EXPECT_TRUE(trailer.has_value());
                  // Each entry takes at least 37 bytes; the smallest ones take exactly that.
                  if (trailer) {
                    EXPECT_GE(trailer->size(), 2 + 37 * entries->size());
                    if (trailer->size() == 2 + 37 * entries->size()) ++minimal_trailers;
                  }
                  // Exactly one index file names the pack, with the trailer's entries.
                  auto it = indexed.find(Id::FromHex(name).value());
                  EXPECT_TRUE(it != indexed.end());
                  if (it == indexed.end()) return Status::OK();
                  EXPECT_EQ(it->second.pack_size, size);
                  EXPECT_EQ(it->second.blobs.size(), entries->size());
                  for (size_t i = 0; i < std::min(entries->size(), it->second.blobs.size()); ++i)
                    ExpectSameEntry(it->second.blobs[i], (*entries)[i]);
                  indexed.erase(it);
                  return Status::OK();
                })
            .ok());
    EXPECT_GT(packs, 0u);
    EXPECT_TRUE(indexed.empty()) << "index files name packs that do not exist";
    // The empty stream's root tree sits alone in a pack: one blob entry of 37 bytes, the case
    // a bound of 38 bytes per entry rejected.
    if (m.dir == "repo-unencrypted") {
      EXPECT_GE(minimal_trailers, 1u);
    }
  }
}

TEST(FormatGoldenRepo, SnapshotObjectsOpenOnlyAsSnapshots) {
  for (const ManifestRepo& m : ReadManifest()) {
    SCOPED_TRACE(m.dir);
    std::unique_ptr<OpenedRepo> r = OpenGolden(m);
    ASSERT_TRUE(r);
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(r->dir + "/snapshots")) {
      SCOPED_TRACE(e.path().string());
      Bytes sealed = ReadAll(e.path().string());
      std::optional<Bytes> plain = OpenOnlyAs(!m.password.empty(), r->key.encryption_key, sealed,
                                              golden::kDomainSnapshot);
      ASSERT_TRUE(plain.has_value());
      EXPECT_TRUE(DecodeSnapshot(*plain).ok());
      ++n;
    }
    EXPECT_EQ(n, m.snapshots.size());
  }
}

void ExpectSnapshotMatches(const SnapshotRef& ref, const Fields& f) {
  const Snapshot& s = ref.snapshot;
  EXPECT_EQ(ref.id.Hex(), f.at("id"));
  EXPECT_EQ(std::to_string(s.time_ns), f.at("time_ns"));
  EXPECT_EQ(s.host, f.at("host"));
  EXPECT_EQ(s.user.empty() ? "-" : s.user, f.at("user"));
  EXPECT_EQ(s.kind, f.at("kind"));
  EXPECT_EQ(s.stdin_name.empty() ? "-" : s.stdin_name, f.at("stdin_name"));
  EXPECT_EQ(s.paths, List(f.at("paths")));
  EXPECT_EQ(s.tags, List(f.at("tags")));
  EXPECT_EQ(std::to_string(s.flags), f.at("flags"));
  EXPECT_EQ(s.tree.Hex(), f.at("tree"));
  EXPECT_EQ(s.parent.Hex(), f.at("parent"));
  const SnapshotStats& st = s.stats;
  EXPECT_EQ(std::to_string(st.files), f.at("files"));
  EXPECT_EQ(std::to_string(st.dirs), f.at("dirs"));
  EXPECT_EQ(std::to_string(st.symlinks), f.at("symlinks"));
  EXPECT_EQ(std::to_string(st.bytes_raw), f.at("bytes_raw"));
  EXPECT_EQ(std::to_string(st.blobs_added), f.at("blobs_added"));
  EXPECT_EQ(std::to_string(st.bytes_added_raw), f.at("bytes_added_raw"));
  EXPECT_EQ(std::to_string(st.bytes_added_stored), f.at("bytes_added_stored"));
  EXPECT_EQ(std::to_string(st.errors), f.at("errors"));
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

std::string Octal(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04o", mode);
  return buf;
}

// Writes one file of a snapshot (or its stream, with an empty path) through RestoreToFd.
Result<Bytes> RestoreBytes(Repository* repo, const Snapshot& snap, const std::string& path,
                           const std::string& scratch) {
  std::string tmp = scratch + "/restore-to-fd";
  int fd = open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "open " + tmp);
  Result<uint64_t> n = RestoreToFd(repo, snap, path, fd);
  close(fd);
  if (!n.ok()) return n.status();
  Bytes b = ReadAll(tmp);
  if (b.size() != *n) return Status::Corruption("RestoreToFd count differs from the bytes written");
  return b;
}

void CheckRestoreMatches(const std::string& target, const ManifestSnapshot& ms) {
  std::set<std::string> expected, found;
  for (const ManifestEntry& e : ms.entries) {
    const Fields& f = e.f;
    const std::string path = f.at("path");
    expected.insert(path);
    SCOPED_TRACE(path);
    struct stat st;
    ASSERT_EQ(lstat((target + "/" + path).c_str(), &st), 0);
    EXPECT_EQ(std::to_string(MtimeNs(st)), f.at("mtime_ns"));
    if (e.kind == "symlink") {
      EXPECT_TRUE(S_ISLNK(st.st_mode));
      EXPECT_EQ(fs::read_symlink(target + "/" + path).string(), f.at("target"));
      continue;
    }
    EXPECT_EQ(Octal(st.st_mode & 07777), f.at("mode"));
    if (e.kind == "dir") {
      EXPECT_TRUE(S_ISDIR(st.st_mode));
      continue;
    }
    ASSERT_EQ(e.kind, "file");
    EXPECT_TRUE(S_ISREG(st.st_mode));
    Bytes content = ReadAll(target + "/" + path);
    EXPECT_EQ(std::to_string(content.size()), f.at("size"));
    EXPECT_EQ(Sha256(content).Hex(), f.at("sha256"));
  }
  for (const auto& e : fs::recursive_directory_iterator(target))
    found.insert(e.path().lexically_relative(target).string());
  EXPECT_EQ(found, expected);  // nothing missing, nothing extra (no leftover temp files)
}

TEST(FormatGoldenRepo, SnapshotsRestoreToTheManifest) {
  for (const ManifestRepo& m : ReadManifest()) {
    SCOPED_TRACE(m.dir);
    std::unique_ptr<OpenedRepo> r = OpenGolden(m);
    ASSERT_TRUE(r);
    Result<std::vector<SnapshotRef>> snaps = r->repo->ListSnapshots();
    ASSERT_TRUE(snaps.ok()) << snaps.status().ToString();
    EXPECT_TRUE(r->repo->warnings().empty());
    ASSERT_EQ(snaps->size(), m.snapshots.size());
    for (size_t i = 0; i < snaps->size(); ++i) {  // oldest first, as the manifest lists them
      const SnapshotRef& ref = (*snaps)[i];
      const ManifestSnapshot& ms = m.snapshots[i];
      SCOPED_TRACE("snapshot " + ref.id.Hex());
      ExpectSnapshotMatches(ref, ms.f);
      if (ref.snapshot.is_stream()) {
        ASSERT_EQ(ms.entries.size(), 1u);
        const Fields& f = ms.entries[0].f;
        EXPECT_EQ(f.at("name"), ref.snapshot.stdin_name);
        Result<Bytes> bytes = RestoreBytes(r->repo.get(), ref.snapshot, "", r->scratch->path());
        ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
        EXPECT_EQ(std::to_string(bytes->size()), f.at("size"));
        EXPECT_EQ(Sha256(*bytes).Hex(), f.at("sha256"));
        continue;
      }
      RestoreOptions options;
      options.target = r->scratch->path() + "/restore-" + std::to_string(i);
      options.threads = 2;
      Result<RestoreResult> res = RestoreToDir(r->repo.get(), ref.snapshot, options, nullptr);
      ASSERT_TRUE(res.ok()) << res.status().ToString();
      EXPECT_EQ(res->damaged, 0u);
      EXPECT_EQ(res->failed, 0u);
      CheckRestoreMatches(options.target, ms);
    }
  }
}

// Snapshot statistics and parents (docs/FORMAT.md section 11). blobs_added, bytes_added_raw and
// bytes_added_stored count every blob, data and tree, that the snapshot's backup added: in the
// golden repositories (one writer, one thread, nothing stored twice) exactly the blobs reachable
// from the snapshot that no older snapshot reaches. `parent` is the snapshot an incremental
// backup of files was based on (the newest one of the same host and paths), zero for the first
// backup and for streams.
TEST(FormatGoldenRepo, SnapshotStatisticsAndParents) {
  size_t incremental = 0;
  for (const ManifestRepo& m : ReadManifest()) {
    SCOPED_TRACE(m.dir);
    std::unique_ptr<OpenedRepo> r = OpenGolden(m);
    ASSERT_TRUE(r);
    Repository* repo = r->repo.get();
    Result<std::vector<SnapshotRef>> snaps = repo->ListSnapshots();
    ASSERT_TRUE(snaps.ok());
    std::set<std::pair<int, Id>> seen;
    for (size_t i = 0; i < snaps->size(); ++i) {
      const SnapshotRef& ref = (*snaps)[i];
      SCOPED_TRACE("snapshot " + ref.id.Hex());
      uint64_t blobs = 0, raw = 0, stored = 0, tree_raw = 0;
      auto add = [&](BlobType type, const Id& id) -> bool {
        if (!seen.insert({static_cast<int>(type), id}).second) return false;
        Result<BlobLocation> loc = repo->FindBlob(type, id);
        EXPECT_TRUE(loc.ok()) << loc.status().ToString();
        if (!loc.ok()) return false;
        ++blobs;
        raw += loc->entry.raw_length;
        stored += loc->entry.length;
        if (type == BlobType::kTree) tree_raw += loc->entry.raw_length;
        return true;
      };
      std::function<void(const Id&)> visit = [&](const Id& tree_id) {
        if (!add(BlobType::kTree, tree_id)) return;  // seen before: so is all below it
        Result<Tree> tree = repo->LoadTree(tree_id);
        ASSERT_TRUE(tree.ok()) << tree.status().ToString();
        for (const Node& n : tree->nodes) {
          if (n.type == NodeType::kFile)
            for (const Id& id : n.content) add(BlobType::kData, id);
          if (n.type == NodeType::kDir) visit(n.subtree);
        }
      };
      visit(ref.snapshot.tree);
      const SnapshotStats& st = ref.snapshot.stats;
      EXPECT_EQ(st.blobs_added, blobs);
      EXPECT_EQ(st.bytes_added_raw, raw);  // trees' plaintext included
      EXPECT_GT(tree_raw, 0u);
      EXPECT_EQ(st.bytes_added_stored, stored);

      Id want_parent;  // zero
      if (!ref.snapshot.is_stream()) {
        for (size_t k = i; k-- > 0;) {
          const Snapshot& older = (*snaps)[k].snapshot;
          if (!older.is_stream() && older.host == ref.snapshot.host &&
              older.paths == ref.snapshot.paths) {
            want_parent = (*snaps)[k].id;
            ++incremental;
            break;
          }
        }
      }
      EXPECT_EQ(ref.snapshot.parent, want_parent);
    }
  }
  EXPECT_EQ(incremental, 1u);  // snapshot 2 of repo/, based on snapshot 1
}

// ---- The chunker restated from docs/FORMAT.md "Chunker", one byte at a time.

std::array<uint64_t, 256> SpecGear(const Key32& chunker_key) {
  std::array<uint64_t, 256> g{};
  for (uint32_t k = 0; k < 64; ++k) {
    Bytes msg = Text("cairn-gear");
    for (int i = 0; i < 4; ++i) msg.push_back(static_cast<uint8_t>(k >> (8 * i)));
    Id mac = HmacSha256(chunker_key, msg);
    for (int j = 0; j < 4; ++j) {
      uint64_t v = 0;
      for (int b = 0; b < 8; ++b) v |= static_cast<uint64_t>(mac.bytes[8 * j + b]) << (8 * b);
      g[4 * k + j] = v;
    }
  }
  return g;
}

std::vector<size_t> SpecChunkSizes(const std::array<uint64_t, 256>& gear, const ChunkerParams& p,
                                   ByteView data) {
  const int bits = std::countr_zero(p.avg_size);
  const uint64_t mask_s = ~uint64_t{0} << (64 - (bits + 2));
  const uint64_t mask_l = ~uint64_t{0} << (64 - (bits - 2));
  std::vector<size_t> sizes;
  while (!data.empty()) {
    size_t n = std::min<size_t>(data.size(), p.max_size), len = n;
    if (n > p.min_size) {
      uint64_t h = 0;
      for (size_t i = p.min_size; i < n; ++i) {
        h = (h << 1) + gear[data[i]];
        if ((h & (i < p.avg_size ? mask_s : mask_l)) == 0) {
          len = i + 1;
          break;
        }
      }
    }
    sizes.push_back(len);
    data = data.subspan(len);
  }
  return sizes;
}

TEST(FormatGoldenRepo, ChunkBoundariesAndBlobIdsAreStable) {
  for (const ManifestRepo& m : ReadManifest()) {
    SCOPED_TRACE(m.dir);
    std::unique_ptr<OpenedRepo> r = OpenGolden(m);
    ASSERT_TRUE(r);
    Repository* repo = r->repo.get();
    const ChunkerParams& params = repo->config().chunker;
    const std::array<uint64_t, 256> gear = SpecGear(r->key.chunker_key);
    for (int b = 0; b < 256; ++b) ASSERT_EQ(repo->gear()[static_cast<uint8_t>(b)], gear[b]);

    Result<std::vector<SnapshotRef>> snaps = repo->ListSnapshots();
    ASSERT_TRUE(snaps.ok());
    size_t files_checked = 0;
    for (size_t i = 0; i < snaps->size(); ++i) {
      const Snapshot& snap = (*snaps)[i].snapshot;
      std::map<std::string, std::string> want_chunks;  // path -> chunks field
      for (const ManifestEntry& e : m.snapshots[i].entries)
        if (e.kind == "file" || e.kind == "stream")
          want_chunks[e.kind == "file" ? e.f.at("path") : e.f.at("name")] = e.f.at("chunks");
      Status walk = WalkTree(
          repo, snap.tree, "", [&](const std::string& path, const Node& node) -> Result<bool> {
            if (node.type != NodeType::kFile) return true;
            SCOPED_TRACE(path);
            ASSIGN_OR_RETURN(Bytes content, RestoreBytes(repo, snap, path, r->scratch->path()));
            // Today's chunker and id hasher...
            MemReader reader(content);
            Chunker chunker(repo->gear(), params, &reader);
            std::vector<Id> ids;
            std::vector<size_t> sizes;
            for (;;) {
              ASSIGN_OR_RETURN(std::optional<ByteView> chunk, chunker.Next());
              if (!chunk) break;
              sizes.push_back(chunk->size());
              ids.push_back(repo->hasher().Hash(*chunk));
            }
            EXPECT_EQ(ids, node.content);
            EXPECT_EQ(sizes, Sizes(want_chunks.at(path)));
            // ...and the rule as the format document states it.
            EXPECT_EQ(SpecChunkSizes(gear, params, content), sizes);
            size_t off = 0;
            for (size_t k = 0; k < sizes.size() && k < node.content.size(); ++k) {
              EXPECT_EQ(HmacSha256(r->key.id_key, ByteView(content).subspan(off, sizes[k])),
                        node.content[k]);
              off += sizes[k];
            }
            ++files_checked;
            return true;
          });
      ASSERT_TRUE(walk.ok()) << walk.ToString();
    }
    EXPECT_GT(files_checked, 0u);
  }
}

TEST(FormatGoldenRepo, IndexRebuildsFromPacks) {
  for (const ManifestRepo& m : ReadManifest()) {
    SCOPED_TRACE(m.dir);
    std::unique_ptr<OpenedRepo> r = OpenGolden(m);
    ASSERT_TRUE(r);
    size_t packs = 0;
    ASSERT_TRUE(r->repo->backend()
                    ->List(ObjectType::kData,
                           [&](const std::string&, uint64_t) {
                             ++packs;
                             return Status::OK();
                           })
                    .ok());
    for (bool from_packs : {false, true}) {
      Result<RebuildStats> stats = r->repo->RebuildIndex(from_packs);
      ASSERT_TRUE(stats.ok()) << stats.status().ToString();
      EXPECT_TRUE(stats->problems.empty());
      EXPECT_EQ(stats->packs, packs);
      EXPECT_EQ(stats->index_files_written, 0u);  // every pack is named by an index file
    }
    Result<std::vector<SnapshotRef>> snaps = r->repo->ListSnapshots();
    ASSERT_TRUE(snaps.ok());
    const SnapshotRef& last = snaps->back();
    ASSERT_TRUE(last.snapshot.is_stream());
    Result<Bytes> bytes = RestoreBytes(r->repo.get(), last.snapshot, "", r->scratch->path());
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    EXPECT_EQ(Sha256(*bytes).Hex(), m.snapshots.back().entries[0].f.at("sha256"));
  }
}

}  // namespace
}  // namespace cairn
