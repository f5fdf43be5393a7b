#include "node/imaging/volume_cache.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/sha256.h"
#include "core/status_macros.h"

namespace scancov::node {
namespace {

constexpr char kMagic[8] = {'S', 'C', 'V', 'C', 'T', 'V', '0', '1'};
constexpr uint32_t kVersion = 1;
constexpr size_t kDigest = 32;

static_assert(sizeof(double) == 8, "f64 layout");

template <typename T>
void Append(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);  // little-endian hosts only
}

void AppendString(std::string& out, const std::string& s) {
  Append(out, static_cast<uint16_t>(s.size()));
  out += s;
}

// A bounds-checked reader over the file bytes.
class Cursor {
 public:
  explicit Cursor(absl::string_view data) : data_(data) {}
  template <typename T>
  bool Read(T& v) {
    if (data_.size() - pos_ < sizeof v) return false;
    std::memcpy(&v, data_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return true;
  }
  bool ReadBytes(size_t n, std::string& out) {
    if (data_.size() - pos_ < n) return false;
    out.assign(data_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool ReadString(std::string& out) {
    uint16_t n = 0;
    return Read(n) && ReadBytes(n, out);
  }
  size_t pos() const { return pos_; }

 private:
  absl::string_view data_;
  size_t pos_ = 0;
};

bool IsSafeKey(const std::string& key) {
  if (key.empty() || key.size() > 128) return false;
  for (char c : key) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace

std::string VolumeCache::PathFor(const std::string& series_key) const {
  return absl::StrCat(directory_, "/", series_key, ".ctv");
}

absl::Status VolumeCache::Store(const CtSeries& series, absl::string_view fingerprint) const {
  const HuVolume& v = series.volume;
  if (!IsSafeKey(series.series_key) || fingerprint.size() != kDigest ||
      v.voxels.size() != v.size()) {
    return absl::InvalidArgumentError("VolumeCache::Store: bad series key, fingerprint or size");
  }
  SCV_RETURN_IF_ERROR(MakeDirs(directory_));
  std::string header(kMagic, sizeof kMagic);
  Append(header, kVersion);
  for (int n : {v.nx, v.ny, v.nz}) Append(header, static_cast<uint32_t>(n));
  for (double d : v.spacing) Append(header, d);
  for (double d : v.origin) Append(header, d);
  for (double d : v.direction) Append(header, d);
  header.append(fingerprint.data(), fingerprint.size());
  AppendString(header, series.patient_key);
  AppendString(header, series.study_key);
  AppendString(header, series.series_key);

  const std::string path = PathFor(series.series_key);
  const std::string tmp = path + ".tmp";
  Sha256 hash;
  hash.Update(header);
  hash.Update(v.voxels.data(), v.voxels.size() * sizeof(int16_t));
  const std::string digest = hash.Finish();
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return absl::PermissionDeniedError(tmp + ": cannot create: " + std::strerror(errno));
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(v.voxels.data()),
              static_cast<std::streamsize>(v.voxels.size() * sizeof(int16_t)));
    out.write(digest.data(), static_cast<std::streamsize>(digest.size()));
    out.flush();
    if (!out) return absl::DataLossError(tmp + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::InternalError(path + ": rename failed: " + ec.message());
  return absl::OkStatus();
}

absl::StatusOr<CtSeries> VolumeCache::Load(const std::string& series_key,
                                           absl::string_view fingerprint) const {
  if (!IsSafeKey(series_key)) return absl::InvalidArgumentError("VolumeCache: bad series key");
  const std::string path = PathFor(series_key);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return absl::NotFoundError(path + ": not cached");
  const absl::StatusOr<std::string> read = ReadFileToString(path);
  if (!read.ok()) return read.status();
  const std::string& data = *read;
  auto corrupt = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat(path, ": damaged cache entry: ", why));
  };
  if (data.size() < sizeof kMagic + kDigest || std::memcmp(data.data(), kMagic, 8) != 0) {
    return corrupt("bad magic");
  }
  const absl::string_view body(data.data(), data.size() - kDigest);
  if (Sha256Digest(body) != absl::string_view(data).substr(body.size())) {
    return corrupt("checksum mismatch");
  }
  Cursor c(body);
  std::string magic, stored_fingerprint;
  uint32_t version = 0, dims[3] = {0, 0, 0};
  CtSeries series;
  HuVolume& v = series.volume;
  bool ok = c.ReadBytes(8, magic) && c.Read(version) && c.Read(dims[0]) && c.Read(dims[1]) &&
            c.Read(dims[2]);
  for (double& d : v.spacing) ok = ok && c.Read(d);
  for (double& d : v.origin) ok = ok && c.Read(d);
  for (double& d : v.direction) ok = ok && c.Read(d);
  ok = ok && c.ReadBytes(kDigest, stored_fingerprint) && c.ReadString(series.patient_key) &&
       c.ReadString(series.study_key) && c.ReadString(series.series_key);
  if (!ok || version != kVersion) return corrupt("bad header");
  if (stored_fingerprint != fingerprint) {
    return absl::NotFoundError(path + ": stale (the source files changed)");
  }
  v.nx = static_cast<int>(dims[0]);
  v.ny = static_cast<int>(dims[1]);
  v.nz = static_cast<int>(dims[2]);
  const uint64_t n = static_cast<uint64_t>(dims[0]) * dims[1] * dims[2];
  if (body.size() - c.pos() != n * sizeof(int16_t) || series.series_key != series_key) {
    return corrupt("size mismatch");
  }
  v.voxels.resize(n);
  std::memcpy(v.voxels.data(), body.data() + c.pos(), n * sizeof(int16_t));
  return series;
}

}  // namespace scancov::node
