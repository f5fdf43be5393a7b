// DICOM import: a folder tree of files in, pseudonymous HU volumes and a report out.
//
//   1. Walk the tree (regular files, any name or extension; symlinks are not followed).
//   2. Read every file's header (DCMTK, pixel data not read). Non-DICOM and damaged files are
//      listed in ImportReport::skipped_files with the reason.
//   3. Group by StudyInstanceUID + SeriesInstanceUID (files without a SeriesInstanceUID are
//      grouped by folder, with a note).
//   4. Per series: skip non-CT objects and localizers (ImageType value 3 LOCALIZER) with a
//      reason; refuse what cannot be stacked (series_check.h: transfer syntax, pixel format,
//      rescale, missing geometry, mixed sizes or orientations, duplicate or missing slices) with
//      a message naming the file and the reason; the other series are imported.
//   5. Decode each accepted series (JPEG, JPEG-LS and RLE via DCMTK's decoders; JPEG 2000 and
//      HTJ2K via OpenJPEG, a codestream that disagrees with the header or is damaged refusing
//      the series; other syntaxes refused by name in step 4), apply RescaleSlope/Intercept per
//      slice, and hand the CtSeries to the caller, through the VolumeCache when one is given.
//
// CT is recognised by SOP class CT Image Storage, or by Modality CT for other single-frame
// image SOP classes (e.g. a Secondary Capture of CT, which then still needs full geometry).
// A CT Image Storage file without a Modality attribute (seen in public test data) is taken
// as CT with a note. Enhanced (multi-frame) CT is refused.
//
// Privacy: the patient, study and series are named only by keys from privacy::Pseudonymizer:
//   patient_key = Pseudonym(PatientID)  (if PatientID is empty: Pseudonym("study:" + study UID),
//                                        with a note; the same key as the clinical import uses)
//   study_key   = Pseudonym("study:" + StudyInstanceUID)
//   series_key  = Pseudonym("series:" + StudyInstanceUID + "\" + SeriesInstanceUID)
// Messages name files by their path relative to the import root, never by attribute values.
//
// Thread-safe: const methods may be called concurrently. Decoding uses `threads` workers.
#ifndef SCANCOV_NODE_IMAGING_DICOM_IMPORTER_H_
#define SCANCOV_NODE_IMAGING_DICOM_IMPORTER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/progress.h"
#include "node/imaging/ct_series.h"
#include "node/imaging/dicom_slice.h"
#include "node/imaging/import_report.h"
#include "node/imaging/series_check.h"
#include "node/imaging/volume_cache.h"
#include "privacy/pseudonymizer.h"

namespace scancov::node {

struct ImportOptions {
  SeriesCheckOptions check;
  // Worker threads for header reading and decoding; 0 = hardware concurrency (at most 16).
  int threads = 0;
  // Where Scan and Import report how far they are (core/progress.h): stage "dicom import:
  // reading headers" with files done of those the walk listed, then "dicom import: series"
  // with series done (decoded and handed to the sink) of the candidates. Counts only, never a
  // file name. Not owned; null: not reported.
  Progress* progress = nullptr;
};

// A series that passed every check and can be decoded.
struct SeriesCandidate {
  std::string series_key;
  std::string study_key;
  std::string patient_key;
  std::vector<SliceHeader> slices;  // sorted along the slice normal
  SeriesGeometry geometry;
  std::vector<std::string> notes;
  int files = 0;            // files of the series, including skipped localizers/duplicates
  std::string fingerprint;  // SHA-256 of sources and options, for VolumeCache
};

struct DicomInventory {
  std::vector<SeriesCandidate> candidates;
  // Unreadable files, and the series skipped or refused while scanning. Candidates are not
  // in it: Import adds them once decoded.
  ImportReport report;
};

class DicomImporter {
 public:
  // Receives each imported volume with its report entry; an error aborts the import.
  using VolumeSink = std::function<absl::Status(CtSeries&& series, const SeriesReport& report)>;

  // `pseudonymizer` must outlive the importer.
  explicit DicomImporter(const privacy::Pseudonymizer& pseudonymizer, ImportOptions options = {});

  // Steps 1-4. Fails only when `root` is not a readable directory.
  absl::StatusOr<DicomInventory> Scan(const std::string& root) const;
  // Step 5 for one candidate. The error names the file that failed ("file x: why").
  absl::StatusOr<CtSeries> LoadSeries(const SeriesCandidate& series) const;
  // Everything: the report lists every series and skipped file. Fails only when `root` is not
  // a directory or the sink fails; per-series problems are in the report.
  absl::StatusOr<ImportReport> Import(const std::string& root, const VolumeSink& sink,
                                      const VolumeCache* cache = nullptr) const;

 private:
  const privacy::Pseudonymizer& pseudonymizer_;
  ImportOptions options_;
  int threads_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_IMAGING_DICOM_IMPORTER_H_
