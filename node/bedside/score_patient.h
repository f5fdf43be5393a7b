// Bedside scoring of one patient: a DICOM folder and a few clinical values in; per-lung lesion
// percentages, disease extent 0-5, well-aerated lung %, calcium, the ScanCov score (class and
// 1-5 level), the AI-SCoRE-like score when a fitted model is given, and overlay images out.
//
// Steps (each timed in BedsideResult::timings):
//   import      the folder is scanned (node/imaging/dicom_importer.h); CT series that can be
//               decoded are ranked by slice count (more first), then slice spacing (thinner
//               first), and decoded in that order;
//   lung mask   learned or model-free (bedside_ct.h); a series without two lungs of at least
//               min_lung_volume_ml together is "not a chest CT" and the next candidate is tried
//               (at most kMaxSeriesTried); none left: the whole request is refused;
//   lesions     learned ensemble or HU intervals (models/ct/hu_lesions.h);
//   quantification  per-lung lesion %, extent score, HU intervals, calcium;
//   scores      bedside_scores.h;
//   report images   overlays of the most affected slices and the summary chart.
//
// Errors (the request cannot be scored at all; messages "bedside: where: why", naming the
// folder, a file relative to it, or a series by its pseudonymous key, never an identifier):
//   InvalidArgument     the folder is not a directory, an option is wrong, the AI-SCoRE model
//                       file does not parse;
//   NotFound            the site secret does not exist, no DICOM file in the folder;
//   FailedPrecondition  no decodable CT series (each refusal listed: a transfer syntax this
//                       build does not decode such as MPEG video, a damaged JPEG 2000
//                       codestream, missing geometry...), or no series is a chest CT;
//   Unimplemented       learned models asked for in a build without LibTorch.
// Clinical problems do not make it fail: the result then has the CT part, input_problems and
// scores that are not available with their reason (BedsideResult::complete() false).
//
// Thread safety: ScorePatient may run concurrently for different requests.
#ifndef SCANCOV_NODE_BEDSIDE_SCORE_PATIENT_H_
#define SCANCOV_NODE_BEDSIDE_SCORE_PATIENT_H_

#include "absl/status/statusor.h"
#include "node/bedside/bedside_result.h"

namespace scancov::node {

inline constexpr int kMaxSeriesTried = 3;

absl::StatusOr<BedsideResult> ScorePatient(const BedsideRequest& request);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_BEDSIDE_SCORE_PATIENT_H_
