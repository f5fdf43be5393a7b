#include "node/imaging/import_report.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace scancov::node {

const char* SeriesStatusName(SeriesStatus status) {
  switch (status) {
    case SeriesStatus::kImported:
      return "imported";
    case SeriesStatus::kRefused:
      return "refused";
    case SeriesStatus::kSkipped:
      return "skipped";
  }
  return "?";
}

int ImportReport::Count(SeriesStatus status) const {
  int n = 0;
  for (const SeriesReport& s : series) n += s.status == status;
  return n;
}

std::string ImportReport::ToText() const {
  std::string out;
  for (const SeriesReport& s : series) {
    absl::StrAppend(&out, "series ", s.series_key.substr(0, 12), " (patient ",
                    s.patient_key.substr(0, 12), "): ", SeriesStatusName(s.status), ", ", s.files,
                    " files");
    if (s.status == SeriesStatus::kImported) {
      absl::StrAppend(&out, ", ", s.slices, " slices", s.from_cache ? " (cache)" : "");
    }
    if (!s.reason.empty()) absl::StrAppend(&out, ": ", s.reason);
    if (!s.notes.empty()) absl::StrAppend(&out, " [", absl::StrJoin(s.notes, "; "), "]");
    out += "\n";
  }
  for (const FileIssue& f : skipped_files) {
    absl::StrAppend(&out, "file ", f.file, ": skipped: ", f.reason, "\n");
  }
  absl::StrAppend(&out, Count(SeriesStatus::kImported), " imported, ",
                  Count(SeriesStatus::kRefused), " refused, ", Count(SeriesStatus::kSkipped),
                  " skipped series; ", skipped_files.size(), " unreadable or non-DICOM files\n");
  return out;
}

std::string ImportReport::ToJson() const {
  nlohmann::json j;
  j["series"] = nlohmann::json::array();
  for (const SeriesReport& s : series) {
    j["series"].push_back({{"series_key", s.series_key},
                           {"study_key", s.study_key},
                           {"patient_key", s.patient_key},
                           {"status", SeriesStatusName(s.status)},
                           {"reason", s.reason},
                           {"notes", s.notes},
                           {"files", s.files},
                           {"slices", s.slices},
                           {"from_cache", s.from_cache}});
  }
  j["skipped_files"] = nlohmann::json::array();
  for (const FileIssue& f : skipped_files) {
    j["skipped_files"].push_back({{"file", f.file}, {"reason", f.reason}});
  }
  return j.dump(2);
}

}  // namespace scancov::node
