#include "node/result_keeper.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "protocol/weights_codec.h"

namespace scancov::node {
namespace {

// File layout: magic, ledger entry id (u64), header (u32 length + UploadHeader), manifest (u32
// length + WeightsManifest, length 0 without weights), payload (manifest.total_bytes bytes).
constexpr char kMagic[] = "SCVKEPT1";
constexpr size_t kMagicBytes = 8;

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetU64(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << 8 * i;
  return v;
}

void PutBlock(std::string* out, const std::string& bytes) {
  const uint32_t n = static_cast<uint32_t>(bytes.size());
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out->append(bytes);
}

// The manifest of `set` without copying its payload.
v1::WeightsManifest ManifestOf(const protocol::TensorSet& set) {
  v1::WeightsManifest m;
  Sha256 hash;
  uint64_t offset = 0;
  for (const protocol::Tensor& t : set.tensors()) {
    v1::TensorSpec* spec = m.add_tensors();
    spec->set_name(t.name);
    for (int64_t d : t.shape) spec->add_shape(d);
    spec->set_dtype(protocol::ToProto(t.dtype));
    spec->set_offset(offset);
    spec->set_nbytes(t.bytes.size());
    offset += t.bytes.size();
    hash.Update(t.bytes);
  }
  m.set_total_bytes(offset);
  m.set_sha256(hash.Finish());
  return m;
}

absl::Status WriteAll(std::FILE* f, absl::string_view bytes, const std::string& path) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    return absl::InternalError(absl::StrCat(path, ": write failed: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status WriteKept(const std::string& path, const Release& release) {
  std::string head(kMagic, kMagicBytes);
  PutU64(&head, static_cast<uint64_t>(release.ledger_entry));
  PutBlock(&head, release.header.SerializeAsString());
  PutBlock(&head, release.weights ? ManifestOf(*release.weights).SerializeAsString() : "");
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::InternalError(absl::StrCat(path, ": cannot create: ", std::strerror(errno)));
  }
  absl::Status s = WriteAll(f, head, path);
  if (release.weights) {
    for (const protocol::Tensor& t : release.weights->tensors()) {
      if (s.ok()) s = WriteAll(f, t.bytes, path);
    }
  }
  if (s.ok() && (std::fflush(f) != 0 || ::fsync(fileno(f)) != 0)) {
    s = absl::InternalError(absl::StrCat(path, ": sync failed: ", std::strerror(errno)));
  }
  std::fclose(f);
  return s;
}

// Reads a length-prefixed block at the stream's position.
absl::StatusOr<std::string> ReadBlock(std::ifstream& in, const std::string& path) {
  char n[4];
  if (!in.read(n, 4)) return absl::DataLossError(path + ": truncated");
  const uint64_t size = GetU64(n, 4);
  if (size > (64u << 20)) return absl::DataLossError(path + ": damaged block length");
  std::string block(size, '\0');
  if (!in.read(block.data(), static_cast<std::streamsize>(block.size()))) {
    return absl::DataLossError(path + ": truncated");
  }
  return block;
}

}  // namespace

std::string ResultKeeper::PathFor(const std::string& task_id) const {
  return absl::StrCat(dir_, "/", ToHex(Sha256Digest(task_id)), ".result");
}

absl::Status ResultKeeper::Keep(const Release& release) {
  SCV_RETURN_IF_ERROR(MakeDirs(dir_));
  const std::string path = PathFor(release.header.task_id());
  const std::string tmp = path + ".tmp";
  absl::Status written = WriteKept(tmp, release);
  if (!written.ok()) {
    std::remove(tmp.c_str());
    return Annotate(written, "kept result");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("kept result: ", path, ": rename failed: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Release>> ResultKeeper::Find(const std::string& task_id) const {
  const std::string path = PathFor(task_id);
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::optional<Release>();
  char fixed[kMagicBytes + 8];
  if (!in.read(fixed, sizeof(fixed)) || std::memcmp(fixed, kMagic, kMagicBytes) != 0) {
    return absl::DataLossError(path + ": not a kept result");
  }
  Release release;
  release.ledger_entry = static_cast<int64_t>(GetU64(fixed + kMagicBytes, 8));
  SCV_ASSIGN_OR_RETURN(std::string header, ReadBlock(in, path));
  SCV_ASSIGN_OR_RETURN(std::string manifest_bytes, ReadBlock(in, path));
  if (!release.header.ParseFromString(header) || release.header.task_id() != task_id) {
    return absl::DataLossError(path + ": unreadable header");
  }
  if (!manifest_bytes.empty()) {
    v1::WeightsManifest manifest;
    if (!manifest.ParseFromString(manifest_bytes)) {
      return absl::DataLossError(path + ": unreadable manifest");
    }
    // Sized from the file, never from what the file says (a damaged length would allocate).
    const std::streamoff at = in.tellg();
    in.seekg(0, std::ios::end);
    const std::streamoff left = in.tellg() - at;
    in.seekg(at);
    if (left < 0 || static_cast<uint64_t>(left) != manifest.total_bytes()) {
      return absl::DataLossError(absl::StrCat(
          path, ": ", left, " payload bytes, the manifest says ", manifest.total_bytes()));
    }
    std::string payload(manifest.total_bytes(), '\0');
    if (!in.read(payload.data(), static_cast<std::streamsize>(payload.size()))) {
      return absl::DataLossError(path + ": truncated payload");
    }
    SCV_ASSIGN_OR_RETURN(release.weights, protocol::TensorSetFromPayload(manifest, payload));
  }
  return std::optional<Release>(std::move(release));
}

absl::Status ResultKeeper::Drop(const std::string& task_id) {
  const std::string path = PathFor(task_id);
  if (std::remove(path.c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(
        absl::StrCat("kept result: ", path, ": cannot remove: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ResultKeeper::DropOlderThan(absl::Time cutoff) {
  int dropped = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string path = entry.path().string();
    struct stat st;
    if (!absl::EndsWith(path, ".result") || ::stat(path.c_str(), &st) != 0) continue;
    if (absl::FromTimeT(st.st_mtime) >= cutoff) continue;
    if (std::remove(path.c_str()) == 0) ++dropped;
  }
  return dropped;  // a missing folder: nothing kept
}

std::string KeptResultsDir(const std::string& store_path) {
  const std::filesystem::path parent = std::filesystem::path(store_path).parent_path();
  return ((parent.empty() ? std::filesystem::path(".") : parent) / "results").string();
}

absl::Status ResultKeeper::DropAll() { return DropOlderThan(absl::InfiniteFuture()).status(); }

}  // namespace scancov::node
