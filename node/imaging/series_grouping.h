// Internal to the importer: decides what to do with the files of one series.
#ifndef SCANCOV_NODE_IMAGING_SERIES_GROUPING_H_
#define SCANCOV_NODE_IMAGING_SERIES_GROUPING_H_

#include <optional>
#include <string>
#include <vector>

#include "node/imaging/dicom_importer.h"

namespace scancov::node {

struct GroupOutcome {
  std::optional<SeriesCandidate> candidate;  // set when the series can be decoded
  SeriesReport report;                       // set otherwise (skipped or refused)
};

// `group_key` identifies the group (study + series UID, or the folder when the series UID is
// missing); it is hashed, never reported. Drops localizers and non-CT objects from a CT series
// with notes, skips series with no CT image, and runs CheckAndSortSeries on the rest.
GroupOutcome ClassifyGroup(const std::string& group_key, std::vector<SliceHeader> slices,
                           const privacy::Pseudonymizer& pseudonymizer,
                           const SeriesCheckOptions& options);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_IMAGING_SERIES_GROUPING_H_
