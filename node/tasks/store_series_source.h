// The production LabelledSeriesSource: the node's imaging store (ct_series with the adopted
// reference labels) and its decoded-volume cache. Series whose cache entry is missing or stale
// are skipped with a warning (re-run import-dicom to decode them again).
#ifndef SCANCOV_NODE_STORE_SERIES_SOURCE_H_
#define SCANCOV_NODE_STORE_SERIES_SOURCE_H_

#include <memory>
#include <string>

#include "node/tasks/segmentation_runner.h"

namespace scancov::node {

class NodeStore;

// `store` must outlive the source; `cache_dir` is the site file's cache_dir.
std::unique_ptr<LabelledSeriesSource> MakeStoreSeriesSource(NodeStore* store,
                                                            std::string cache_dir);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_STORE_SERIES_SOURCE_H_
