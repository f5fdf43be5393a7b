#include "node/imaging/series_grouping.h"

#include <set>

#include "absl/strings/str_cat.h"

namespace scancov::node {
namespace {

constexpr char kCtImageStorage[] = "1.2.840.10008.5.1.4.1.1.2";
constexpr char kEnhancedCt[] = "1.2.840.10008.5.1.4.1.1.2.1";
constexpr char kLegacyEnhancedCt[] = "1.2.840.10008.5.1.4.1.1.2.2";

enum class Kind { kCt, kLocalizer, kEnhancedCt, kNotCt };

Kind KindOf(const SliceHeader& s) {
  if (s.sop_class_uid == kEnhancedCt || s.sop_class_uid == kLegacyEnhancedCt) {
    // Its frames, read from its functional groups, are slices like any other.
    if (!s.is_frame) return Kind::kEnhancedCt;
    if (!s.has_pixel_data) return Kind::kNotCt;
    return s.IsLocalizer() ? Kind::kLocalizer : Kind::kCt;
  }
  const bool ct = s.sop_class_uid == kCtImageStorage || s.modality == "CT";
  if (!ct || !s.has_pixel_data) return Kind::kNotCt;
  return s.IsLocalizer() ? Kind::kLocalizer : Kind::kCt;
}

std::string NotCtReason(const SliceHeader& s) {
  return absl::StrCat("not a CT image (Modality ", s.modality.empty() ? "absent" : s.modality,
                      ", SOP class ", UidName(s.sop_class_uid),
                      s.has_pixel_data ? "" : ", no pixel data", ")");
}

}  // namespace

GroupOutcome ClassifyGroup(const std::string& group_key, std::vector<SliceHeader> slices,
                           const privacy::Pseudonymizer& pseudonymizer,
                           const SeriesCheckOptions& options) {
  GroupOutcome out;
  SeriesReport& r = out.report;
  const SliceHeader& any = slices.front();
  std::vector<std::string> notes;
  r.series_key = pseudonymizer.Pseudonym(absl::StrCat("series:", group_key));
  r.study_key = any.study_uid.empty() ? "" : pseudonymizer.Pseudonym("study:" + any.study_uid);
  {  // files, not frames: a multi-frame object is one file
    std::set<std::string> paths;
    for (const SliceHeader& s : slices) paths.insert(s.path);
    r.files = static_cast<int>(paths.size());
  }
  if (any.has_patient_id) {
    r.patient_key = pseudonymizer.Pseudonym(any.patient_id);
  } else if (!any.study_uid.empty()) {
    r.patient_key = pseudonymizer.Pseudonym("study:" + any.study_uid);
    notes.push_back("PatientID missing: patient key derived from the study");
  } else {
    r.patient_key = r.series_key;
    notes.push_back("PatientID and StudyInstanceUID missing: patient key is the series key");
  }
  if (any.series_uid.empty()) notes.push_back("SeriesInstanceUID missing: grouped by folder");

  // `any` is moved from below; keep what the loop compares against.
  const std::string first_patient_id = any.patient_id;
  const std::string first_name = any.name;
  std::vector<SliceHeader> ct;
  int localizers = 0, not_ct = 0;
  const SliceHeader* first_not_ct = nullptr;
  for (SliceHeader& s : slices) {
    if (s.patient_id != first_patient_id) {
      r.status = SeriesStatus::kRefused;
      r.reason = absl::StrCat("file ", s.name, ": PatientID differs from file ", first_name,
                              " within one series");
      return out;
    }
    switch (KindOf(s)) {
      case Kind::kEnhancedCt:
        r.status = SeriesStatus::kRefused;
        r.reason = absl::StrCat("file ", s.name, ": ", UidName(s.sop_class_uid),
                                " (multi-frame) is not supported");
        return out;
      case Kind::kLocalizer:
        ++localizers;
        break;
      case Kind::kNotCt:
        if (first_not_ct == nullptr) first_not_ct = &s;
        ++not_ct;
        break;
      case Kind::kCt:
        ct.push_back(std::move(s));
        break;
    }
  }
  if (ct.empty()) {
    r.status = SeriesStatus::kSkipped;
    r.reason = localizers > 0 && not_ct == 0
                   ? absl::StrCat("localizer (scout) image", localizers > 1 ? "s" : "")
                   : NotCtReason(*first_not_ct);
    r.notes = std::move(notes);
    return out;
  }
  if (localizers > 0) notes.push_back(absl::StrCat(localizers, " localizer image(s) skipped"));
  if (not_ct > 0) {
    notes.push_back(
        absl::StrCat(not_ct, " non-CT object(s) skipped: ", NotCtReason(*first_not_ct)));
  }
  if (ct.front().modality.empty()) {
    notes.push_back("Modality missing: taken as CT from the SOP class CT Image Storage");
  } else if (ct.front().sop_class_uid != kCtImageStorage) {
    notes.push_back(
        absl::StrCat("SOP class ", UidName(ct.front().sop_class_uid), " with Modality CT"));
  }
  absl::StatusOr<SeriesGeometry> geometry = CheckAndSortSeries(ct, options, &notes);
  if (!geometry.ok()) {
    r.status = SeriesStatus::kRefused;
    r.reason = std::string(geometry.status().message());
    r.notes = std::move(notes);
    return out;
  }
  SeriesCandidate c;
  c.series_key = r.series_key;
  c.study_key = r.study_key;
  c.patient_key = r.patient_key;
  c.slices = std::move(ct);
  c.geometry = *geometry;
  c.notes = std::move(notes);
  c.files = r.files;
  out.candidate = std::move(c);
  return out;
}

}  // namespace scancov::node
