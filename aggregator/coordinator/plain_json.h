// The coordinator's records as plain JSON for scripts (`scancov-coord sites|studies|status
// --json`): protobuf's JSON mapping with the .proto's field names, every field present, and
// two things the mapping does badly undone, so that `jq` works on the output directly:
//   - a string field named `<x>_json` that holds JSON (StudySpec.spec_json, privacy_json,
//     result_json) becomes the object itself under `<x>` (as in study spec files,
//     study_spec_json.h);
//   - a 64-bit integer named `*_unix` or `*_ms` (which the mapping writes as a string) becomes
//     a number.
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_PLAIN_JSON_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_PLAIN_JSON_H_

#include <google/protobuf/message.h>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace scancov::aggregator {

absl::StatusOr<nlohmann::json> PlainJson(const google::protobuf::Message& message);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_PLAIN_JSON_H_
