#include "node/imaging/dicom_importer.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "node/imaging/series_grouping.h"

namespace scancov::node {
namespace fs = std::filesystem;
namespace {

// Runs fn(0..n-1) on up to `threads` threads.
void ParallelFor(size_t n, int threads, const std::function<void(size_t)>& fn) {
  const size_t workers = std::min<size_t>(n, static_cast<size_t>(std::max(1, threads)));
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (size_t w = 0; w < workers; ++w) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) fn(i);
    });
  }
  for (std::thread& t : pool) t.join();
}

// Regular files under root, sorted (symlinks and unreadable folders skipped).
std::vector<fs::path> ListFiles(const fs::path& root) {
  std::vector<fs::path> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec) && !it->is_symlink(type_ec)) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The file's images: one header, or one per frame of an enhanced CT object.
absl::StatusOr<std::vector<SliceHeader>> ReadOneHeader(const fs::path& path, const fs::path& root) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return absl::NotFoundError("cannot stat file");
  SCV_ASSIGN_OR_RETURN(DicomFile file, DicomFile::Load(path.string(), /*header_only=*/true));
  SCV_ASSIGN_OR_RETURN(std::vector<SliceHeader> headers, file.ReadFrameHeaders());
  for (SliceHeader& h : headers) {
    h.path = path.string();
    h.name = path.lexically_relative(root).string();
    if (h.is_frame) absl::StrAppend(&h.name, " frame ", h.frame + 1);
    h.file_size = static_cast<uint64_t>(st.st_size);
    h.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  }
  return headers;
}

std::string Fingerprint(const SeriesCandidate& c, const SeriesCheckOptions& o) {
  Sha256 hash;
  hash.Update(absl::StrCat("scancov-ctvol-v1|", o.assume_identity_rescale, "|",
                           o.spacing_tolerance_mm, "|", o.spacing_tolerance_fraction, "|",
                           o.gap_factor));
  for (const SliceHeader& s : c.slices) {
    hash.Update(absl::StrCat("|", s.path, "|", s.file_size, "|", s.mtime_ns));
    if (s.is_frame) hash.Update(absl::StrCat("#", s.frame));
  }
  return hash.Finish();
}

}  // namespace

DicomImporter::DicomImporter(const privacy::Pseudonymizer& pseudonymizer, ImportOptions options)
    : pseudonymizer_(pseudonymizer), options_(options) {
  threads_ = options_.threads > 0
                 ? options_.threads
                 : std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 16);
  RegisterDicomDecoders();
}

absl::StatusOr<DicomInventory> DicomImporter::Scan(const std::string& root) const {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return absl::NotFoundError(absl::StrCat("DicomImporter: ", root, ": not a directory"));
  }
  const std::vector<fs::path> files = ListFiles(root);
  std::vector<std::optional<absl::StatusOr<std::vector<SliceHeader>>>> headers(files.size());
  Progress* progress = options_.progress;
  const int64_t total = static_cast<int64_t>(files.size());
  if (progress != nullptr) {
    progress->SetStage("dicom import: reading headers,");
    progress->SetCount("file", 0, total);
  }
  std::atomic<int64_t> read{0};
  ParallelFor(files.size(), threads_, [&](size_t i) {
    headers[i].emplace(ReadOneHeader(files[i], root));
    if (progress != nullptr) progress->SetCount("file", ++read, total);
  });

  DicomInventory inventory;
  std::map<std::string, std::vector<SliceHeader>> groups;
  for (size_t i = 0; i < files.size(); ++i) {
    absl::StatusOr<std::vector<SliceHeader>>& images = *headers[i];
    if (!images.ok()) {
      inventory.report.skipped_files.push_back(
          {files[i].lexically_relative(root).string(), std::string(images.status().message())});
      continue;
    }
    for (SliceHeader& h : *images) {
      if (h.sop_class_uid == "1.2.840.10008.1.3.10") {
        inventory.report.skipped_files.push_back({h.name, "DICOMDIR (media index), not an image"});
        continue;
      }
      std::string key = h.series_uid.empty()
                            ? absl::StrCat("folder:", fs::path(h.path).parent_path().string())
                            : absl::StrCat(h.study_uid, "\\", h.series_uid);
      groups[key].push_back(std::move(h));
    }
  }
  for (auto& [key, slices] : groups) {
    GroupOutcome outcome = ClassifyGroup(key, std::move(slices), pseudonymizer_, options_.check);
    if (outcome.candidate) {
      outcome.candidate->fingerprint = Fingerprint(*outcome.candidate, options_.check);
      inventory.candidates.push_back(*std::move(outcome.candidate));
    } else {
      inventory.report.series.push_back(std::move(outcome.report));
    }
  }
  return inventory;
}

absl::StatusOr<CtSeries> DicomImporter::LoadSeries(const SeriesCandidate& series) const {
  const SeriesGeometry& g = series.geometry;
  if (static_cast<int>(series.slices.size()) != g.nz) {
    return absl::InvalidArgumentError("LoadSeries: slice count does not match the geometry");
  }
  CtSeries s;
  s.patient_key = series.patient_key;
  s.study_key = series.study_key;
  s.series_key = series.series_key;
  HuVolume& v = s.volume;
  v = HuVolume(g.nx, g.ny, g.nz, g.spacing);
  v.origin = g.origin;
  v.direction = g.direction;
  const size_t plane = static_cast<size_t>(g.nx) * g.ny;
  // Each file is opened and parsed once, whatever the number of its frames in the series.
  std::map<std::string, std::vector<size_t>> slices_of_file;
  for (size_t k = 0; k < series.slices.size(); ++k) {
    slices_of_file[series.slices[k].path].push_back(k);
  }
  std::vector<const std::vector<size_t>*> files;
  for (const auto& [path, ks] : slices_of_file) files.push_back(&ks);
  std::mutex mu;
  std::optional<absl::Status> first_error;
  ParallelFor(files.size(), threads_, [&](size_t i) {
    const std::vector<size_t>& ks = *files[i];
    const SliceHeader* at = &series.slices[ks.front()];
    absl::Status status = [&]() -> absl::Status {
      SCV_ASSIGN_OR_RETURN(DicomFile file, DicomFile::Load(at->path, /*header_only=*/false));
      for (size_t k : ks) {
        at = &series.slices[k];
        SCV_RETURN_IF_ERROR(file.DecodeHu(*at, v.voxels.data() + k * plane));
      }
      return absl::OkStatus();
    }();
    if (!status.ok()) {
      std::lock_guard<std::mutex> lock(mu);
      if (!first_error) {
        first_error =
            absl::Status(status.code(), absl::StrCat("file ", at->name, ": ", status.message()));
      }
    }
  });
  if (first_error) return *first_error;
  return s;
}

absl::StatusOr<ImportReport> DicomImporter::Import(const std::string& root, const VolumeSink& sink,
                                                   const VolumeCache* cache) const {
  SCV_ASSIGN_OR_RETURN(DicomInventory inventory, Scan(root));
  ImportReport report = std::move(inventory.report);
  Progress* progress = options_.progress;
  const int64_t total = static_cast<int64_t>(inventory.candidates.size());
  int64_t done = 0;
  if (progress != nullptr) {
    progress->SetStage("dicom import:");
    progress->SetCount("series", 0, total);
  }
  for (SeriesCandidate& c : inventory.candidates) {
    // Counted at the top of the loop: a refused series `continue`s past its end.
    if (progress != nullptr && done > 0) progress->SetCount("series", done, total);
    ++done;
    SeriesReport entry;
    entry.series_key = c.series_key;
    entry.study_key = c.study_key;
    entry.patient_key = c.patient_key;
    entry.files = c.files;
    entry.notes = c.notes;
    entry.fingerprint = c.fingerprint;
    if (!c.slices.empty()) {
      entry.source_dir = std::filesystem::path(c.slices.front().path).parent_path().string();
    }
    std::optional<CtSeries> series;
    if (cache != nullptr) {
      absl::StatusOr<CtSeries> cached = cache->Load(c.series_key, c.fingerprint);
      if (cached.ok()) {
        series = *std::move(cached);
        entry.from_cache = true;
      } else if (cached.status().code() == absl::StatusCode::kDataLoss) {
        entry.notes.push_back("cache entry damaged; decoded again");
      }
    }
    if (!series) {
      absl::StatusOr<CtSeries> decoded = LoadSeries(c);
      if (!decoded.ok()) {
        entry.status = SeriesStatus::kRefused;
        entry.reason = std::string(decoded.status().message());
        spdlog::warn("dicom import: series {} refused: {}", c.series_key.substr(0, 12),
                     entry.reason);
        report.series.push_back(std::move(entry));
        continue;
      }
      series = *std::move(decoded);
      if (cache != nullptr) {
        if (absl::Status s = cache->Store(*series, c.fingerprint); !s.ok()) {
          entry.notes.push_back(absl::StrCat("cache write failed: ", s.message()));
        }
      }
    }
    entry.status = SeriesStatus::kImported;
    entry.slices = series->volume.nz;
    report.series.push_back(entry);
    SCV_RETURN_IF_ERROR(Annotate(sink(*std::move(series), entry), "DicomImporter: sink"));
  }
  if (progress != nullptr) progress->SetCount("series", total, total);
  spdlog::info("dicom import: {} imported, {} refused, {} skipped series; {} files skipped",
               report.Count(SeriesStatus::kImported), report.Count(SeriesStatus::kRefused),
               report.Count(SeriesStatus::kSkipped), report.skipped_files.size());
  return report;
}

}  // namespace scancov::node
