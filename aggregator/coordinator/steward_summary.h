// What a study will ask of each site's steward, as the coordinator can tell from the spec alone:
// `scancov-coord create-study --dry-run` prints it before anything is created. It is the
// coordinator's reading of the spec; the node derives its own from the kind's declaration
// (node/approvals.h: DescribeRequest, shown by `scancov-node pending`), and that one is what the
// steward approves. The node's summary is not used here because it needs the node's task
// plug-ins, some of which need LibTorch, which the coordinator does not link.
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_STEWARD_SUMMARY_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_STEWARD_SUMMARY_H_

#include <string>

#include "protocol/scancov.pb.h"

namespace scancov::aggregator {

// One paragraph per site (training sites, then evaluation sites): its role and kind, the
// outcome and variables the spec names (a kind may read more, e.g. CT series), what it releases,
// the minimum cell count asked; then the study's rounds, privacy options, training plan (initial
// model digest included) and the exact spec JSON. A spec_json that is not an object is shown as it
// is, with nothing named. `study` is the status a create (or a dry run) answered, whose spec has
// its kind filled in.
std::string StewardSummary(const v1::StudyStatus& study);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_STEWARD_SUMMARY_H_
