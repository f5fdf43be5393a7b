// What a DICOM import did with every file and series, for the data steward.
//
// Privacy: a report names files by their path relative to the import root and series by
// pseudonymous keys; it never holds a patient's name, ID or birth date, nor a study/series UID.
#ifndef SCANCOV_NODE_IMAGING_IMPORT_REPORT_H_
#define SCANCOV_NODE_IMAGING_IMPORT_REPORT_H_

#include <string>
#include <vector>

namespace scancov::node {

enum class SeriesStatus {
  kImported,  // decoded into a CtSeries (or taken from the cache)
  kRefused,   // CT, but unusable: the reason says which file and why
  kSkipped,   // not for import: localizer, not CT
};

const char* SeriesStatusName(SeriesStatus status);

struct SeriesReport {
  std::string series_key;   // pseudonym of StudyInstanceUID + SeriesInstanceUID
  std::string study_key;    // pseudonym of StudyInstanceUID
  std::string patient_key;  // pseudonym of PatientID
  SeriesStatus status = SeriesStatus::kRefused;
  std::string reason;              // empty when imported
  std::vector<std::string> notes;  // assumptions made and things dropped, when imported
  int files = 0;                   // files that belonged to the series
  int slices = 0;                  // slices in the volume, when imported
  bool from_cache = false;
  // Directory of the series' first file. Local to the node (a folder name may carry an
  // identifier): never in ToText/ToJson, never sent.
  std::string source_dir;
  std::string fingerprint;  // of the sources, as VolumeCache keys the decoded volume
};

// A file that could not be attributed to any series (not DICOM, unreadable).
struct FileIssue {
  std::string file;  // relative to the import root
  std::string reason;
};

struct ImportReport {
  std::vector<SeriesReport> series;
  std::vector<FileIssue> skipped_files;

  int Count(SeriesStatus status) const;
  // One line per series and per skipped file, for logs and the steward's console.
  std::string ToText() const;
  // The same as JSON: {"series": [...], "skipped_files": [...]}.
  std::string ToJson() const;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_IMAGING_IMPORT_REPORT_H_
