#include "cli/sample_data.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

namespace cairn::cli {

namespace fs = std::filesystem;

namespace {
struct Rng {
  uint64_t s;
  uint64_t Next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

Status WriteFile(const fs::path& p, const std::string& data) {
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) return Status::IOError("write " + p.string());
  return Status::OK();
}

std::string DumpRow(uint64_t id, uint64_t version) {
  char buf[160];
  snprintf(buf, sizeof(buf), "%llu\tcustomer-%llu\tcustomer%llu@example.com\t%llu.%02llu\t2026-11-%02llu\n",
           static_cast<unsigned long long>(id), static_cast<unsigned long long>(id),
           static_cast<unsigned long long>(id), static_cast<unsigned long long>((id * 7919 + version * 13) % 100000),
           static_cast<unsigned long long>((id + version) % 100),
           static_cast<unsigned long long>(1 + (id + version) % 28));
  return buf;
}

std::string Dump(uint64_t rows, const std::vector<uint64_t>& versions) {
  std::string s = "--\n-- PostgreSQL database dump\n--\n\nCOPY public.accounts (id, name, email, balance, updated) FROM stdin;\n";
  s.reserve(rows * 64);
  for (uint64_t i = 1; i <= rows; ++i) s += DumpRow(i, versions.empty() ? 0 : versions[(i / 2000) % versions.size()]);
  s += "\\.\n\n-- PostgreSQL database dump complete\n";
  return s;
}

// 16 MiB of 8 KiB pages: a small header and records that are half structured, half random.
std::string WalSegment(uint64_t seg, Rng* rng) {
  std::string s(16u << 20, '\0');
  for (size_t page = 0; page < s.size() / 8192; ++page) {
    char* p = &s[page * 8192];
    snprintf(p, 64, "WALPAGE seg=%llu page=%zu", static_cast<unsigned long long>(seg), page);
    for (size_t off = 64; off + 8 <= 8192; off += 8) {
      uint64_t v = (off % 64 < 32) ? rng->Next() : (page * 8192 + off) / 64;
      memcpy(p + off, &v, 8);
    }
  }
  return s;
}

std::string SourceFile(int i, int rev) {
  std::string s = "// module " + std::to_string(i) + "\n#include <cstdio>\n\n";
  for (int f = 0; f < 40; ++f)
    s += "int function_" + std::to_string(i) + "_" + std::to_string(f) + "(int x) { return x * " +
         std::to_string(f + rev) + " + " + std::to_string(i) + "; }\n";
  return s;
}

fs::path SourcePath(const std::string& dir, int i) {
  return fs::path(dir) / "src" / ("pkg" + std::to_string(i % 12)) / ("sub" + std::to_string(i % 5)) /
         ("file_" + std::to_string(i) + ".cc");
}
}  // namespace

Status GenerateSample(const std::string& dir, const SampleSize& size, uint64_t seed) {
  Rng rng{seed | 1};
  RETURN_IF_ERROR(WriteFile(fs::path(dir) / "db" / "app.sql", Dump(size.dump_rows, {})));
  for (int i = 1; i <= size.wal_segments; ++i) {
    char name[32];
    snprintf(name, sizeof(name), "0000000100000000000000%02X", i);
    RETURN_IF_ERROR(WriteFile(fs::path(dir) / "wal" / name, WalSegment(i, &rng)));
  }
  for (int i = 0; i < size.source_files; ++i) RETURN_IF_ERROR(WriteFile(SourcePath(dir, i), SourceFile(i, 0)));
  RETURN_IF_ERROR(WriteFile(fs::path(dir) / "src" / "empty.txt", ""));
  std::error_code ec;
  fs::create_directory_symlink("src/pkg1", fs::path(dir) / "current", ec);
  if (ec) return Status::IOError("symlink: " + ec.message());
  chmod((fs::path(dir) / "src" / "empty.txt").c_str(), 0640);
  return Status::OK();
}

Status MutateSample(const std::string& dir, const SampleSize& size, uint64_t seed) {
  Rng rng{(seed + 99) | 1};
  // A few hundred scattered rows changed and a thousand appended: a typical day of a small table.
  std::vector<uint64_t> versions(size.dump_rows / 2000 + 1, 0);
  for (int k = 0; k < 8; ++k) versions[rng.Next() % versions.size()] = 1;
  RETURN_IF_ERROR(WriteFile(fs::path(dir) / "db" / "app.sql", Dump(size.dump_rows + 1000, versions)));
  char name[32];
  snprintf(name, sizeof(name), "0000000100000000000000%02X", size.wal_segments + 1);
  RETURN_IF_ERROR(WriteFile(fs::path(dir) / "wal" / name, WalSegment(size.wal_segments + 1, &rng)));
  for (int k = 0; k < 5; ++k) {
    int i = static_cast<int>(rng.Next() % static_cast<uint64_t>(size.source_files));
    RETURN_IF_ERROR(WriteFile(SourcePath(dir, i), SourceFile(i, 1)));
  }
  return WriteFile(SourcePath(dir, size.source_files), SourceFile(size.source_files, 0));
}

Status CompareTrees(const std::string& a, const std::string& b) {
  std::error_code ec;
  std::vector<std::string> rel_a, rel_b;
  for (auto it = fs::recursive_directory_iterator(a, ec); it != fs::recursive_directory_iterator(); ++it)
    rel_a.push_back(fs::relative(it->path(), a).string());
  for (auto it = fs::recursive_directory_iterator(b, ec); it != fs::recursive_directory_iterator(); ++it)
    rel_b.push_back(fs::relative(it->path(), b).string());
  std::sort(rel_a.begin(), rel_a.end());
  std::sort(rel_b.begin(), rel_b.end());
  if (rel_a != rel_b) return Status::Corruption("the trees hold different entries");
  for (const std::string& r : rel_a) {
    fs::path pa = fs::path(a) / r, pb = fs::path(b) / r;
    struct stat sa, sb;
    if (lstat(pa.c_str(), &sa) != 0 || lstat(pb.c_str(), &sb) != 0) return Status::IOError("stat " + r);
    if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) return Status::Corruption(r + ": type differs");
    if (S_ISLNK(sa.st_mode)) {
      if (fs::read_symlink(pa) != fs::read_symlink(pb)) return Status::Corruption(r + ": link differs");
      continue;
    }
    if ((sa.st_mode & 07777) != (sb.st_mode & 07777)) return Status::Corruption(r + ": mode differs");
    if (!S_ISREG(sa.st_mode)) continue;
    if (sa.st_size != sb.st_size) return Status::Corruption(r + ": size differs");
    if (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec || sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec)
      return Status::Corruption(r + ": mtime differs");
    std::ifstream fa(pa, std::ios::binary), fb(pb, std::ios::binary);
    std::vector<char> ba(1 << 20), bb(1 << 20);
    while (fa && fb) {
      fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
      fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
      if (fa.gcount() != fb.gcount() || memcmp(ba.data(), bb.data(), static_cast<size_t>(fa.gcount())) != 0)
        return Status::Corruption(r + ": content differs");
    }
  }
  return Status::OK();
}

}  // namespace cairn::cli
