// An on-disk cache of decoded CT volumes, so training does not re-decode DICOM every epoch.
//
// One file per series, "<dir>/<series_key>.ctv", where series_key is the pseudonymous series
// key (hex). Format, all integers and floats little-endian:
//
//   offset  size  field
//   0       8     magic "SCVCTV01"
//   8       4     u32 format version (1)
//   12      12    u32 nx, ny, nz
//   24      24    f64 spacing[3] (mm: column, row, slice)
//   48      24    f64 origin[3] (LPS mm)
//   72      72    f64 direction[9] (row, column, slice unit vectors)
//   144     32    source fingerprint (SHA-256, see below)
//   176     ...   three strings, each u16 length + bytes: patient_key, study_key, series_key
//   ...     2*n   int16 HU, n = nx*ny*nz, (k, j, i) row-major as in HuVolume
//   end-32  32    SHA-256 of every byte before it
//
// The fingerprint is computed by the importer from the series' source files (path, size and
// modification time of every slice) and the decoding options; an entry whose fingerprint differs
// is stale (the DICOM changed) and is re-decoded and overwritten. A checksum mismatch is
// reported as DataLoss and also re-decoded. Writes go to "<file>.tmp" then rename, so a
// crash never leaves a half-written entry under the real name.
//
// Thread-compatible: concurrent Load calls are safe; do not Store the same key concurrently.
#ifndef SCANCOV_NODE_IMAGING_VOLUME_CACHE_H_
#define SCANCOV_NODE_IMAGING_VOLUME_CACHE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/imaging/ct_series.h"

namespace scancov::node {

class VolumeCache {
 public:
  explicit VolumeCache(std::string directory) : directory_(std::move(directory)) {}

  // The cached volume of `series_key` if it was decoded from the same sources.
  // NotFound: no entry, or a stale one (other fingerprint). DataLoss: damaged entry.
  absl::StatusOr<CtSeries> Load(const std::string& series_key, absl::string_view fingerprint) const;
  // Writes (or replaces) the entry of series.series_key. Creates the directory if missing.
  absl::Status Store(const CtSeries& series, absl::string_view fingerprint) const;

  std::string PathFor(const std::string& series_key) const;
  const std::string& directory() const { return directory_; }

 private:
  std::string directory_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_IMAGING_VOLUME_CACHE_H_
