// A study spec file, as the coordinator writes it: the StudySpec in protobuf's JSON mapping,
// except that the kind's options and the privacy options are plain JSON objects:
//
//   {"name": "t1", "kind": "STUDY_KIND_ANALYSIS", "sites": ["kb", "igr"],
//    "spec": {"analysis": "logistic_regression", "outcome": "severe", "features": ["age"]},
//    "privacy": {"secure_aggregation": {"threshold": 2}}}
//
// "spec" becomes StudySpec.spec_json and "privacy" StudySpec.privacy_json (each serialized).
// The older form, JSON inside a string ("specJson" / "spec_json", "privacyJson" /
// "privacy_json"), is still read, and those fields may also hold an object; a file that gives
// a field in two forms is refused.
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_STUDY_SPEC_JSON_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_STUDY_SPEC_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "protocol/scancov.pb.h"

namespace scancov::aggregator {

// Parses a study spec file's text. Errors (InvalidArgument) name the field and, for text that
// is not JSON, the byte where parsing stopped.
absl::StatusOr<v1::StudySpec> StudySpecFromJson(const std::string& json);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_STUDY_SPEC_JSON_H_
