// The three outputs of bedside scoring: the terminal summary, the JSON result for machines and
// the one-page HTML report (with the overlays embedded as base64 PNG), plus the JSON written
// when a request is refused.
//
// Privacy: every output names the patient only by the pseudonymous key; none contains a
// PatientName, PatientID, birth date, UID or a source file path (bedside_result.h). The
// clinical values as scored are in the JSON (they are needed to audit a score) but not in the
// HTML or the terminal text beyond what the scores show.
//
// A result that is not complete (ScanCov not computable) says so first, in every output, and
// shows the scores that are not available with their reason instead of a number.
#ifndef SCANCOV_NODE_BEDSIDE_BEDSIDE_REPORT_H_
#define SCANCOV_NODE_BEDSIDE_BEDSIDE_REPORT_H_

#include <string>

#include "absl/status/status.h"
#include "node/bedside/bedside_result.h"

namespace scancov::node {

inline constexpr char kResearchDisclaimer[] =
    "Research tool: not a medical device, not validated for clinical decisions. The scores "
    "were developed on COVID-19 cohorts (ScanCov: Lassau et al., Nat Commun 2021; AI-SCoRE: "
    "Palmisano et al.) and the lesion map is automatic; a clinician must review both.";

// The terminal summary (plain text, ends with a newline).
std::string BedsideSummaryText(const BedsideResult& result);

// {"format": "scancov-bedside-v1", "complete": ..., ...} (pretty-printed).
std::string BedsideResultJson(const BedsideResult& result);

// {"format": "scancov-bedside-v1", "complete": false, "error": "..."} for a refused request.
std::string BedsideErrorJson(const absl::Status& status);

// The one-page HTML report.
std::string BedsideReportHtml(const BedsideResult& result);

// The lung and lesion maps as a DICOM SEG referencing the scored series (models/ct/dicom_seg.h),
// for PACS viewers. Unlike the other outputs the SEG carries the patient and study attributes
// of the source files (DCMTK copies them so the viewer files it with the CT): it stays in the
// hospital, like the CT itself.
absl::Status WriteBedsideSeg(const std::string& path, const BedsideResult& result);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_BEDSIDE_BEDSIDE_REPORT_H_
