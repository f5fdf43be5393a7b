// What scancov-score does around ScorePatient (score_patient.h), apart from its flags: reading
// the clinical values it was given as text, and writing the outputs it was asked for.
//
// Thread-safe (no shared state).
#ifndef SCANCOV_NODE_BEDSIDE_SCORE_COMMAND_H_
#define SCANCOV_NODE_BEDSIDE_SCORE_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/scores/patient_inputs.h"
#include "node/bedside/bedside_result.h"

namespace scancov::node {

// --sex: "M", "male" or "1" is 1; "F", "female" or "0" is 0 (any case). InvalidArgument
// ("--sex: expected M or F") otherwise.
absl::StatusOr<double> ParseSex(const std::string& text);

// --input name=value items into `inputs` (canonical units; the names are checked by the
// scores). InvalidArgument ("--input <name>: expected name=number") at the first bad item;
// the items before it are set.
absl::Status AddExtraInputs(const std::vector<std::string>& items, scores::PatientInputs& inputs);

// The files a score run was asked for ("" : not asked): the HTML report, the JSON result and
// the DICOM SEG (bedside_report.h).
struct BedsideOutputs {
  std::string report;
  std::string json;
  std::string seg;
};

// Writes every requested file (atomically), logging each one written; each that fails is
// reported on `err` ("error: <path>: why") and the others are still written. False when one
// failed.
bool WriteBedsideOutputs(const BedsideResult& result, const BedsideOutputs& outputs,
                         std::ostream& err);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_BEDSIDE_SCORE_COMMAND_H_
