// Helpers shared by the files of AggregatorStore (store.cc, store_checkpoints.cc); not for use
// outside them.
#ifndef SCANCOV_AGGREGATOR_SERVER_STORE_INTERNAL_H_
#define SCANCOV_AGGREGATOR_SERVER_STORE_INTERNAL_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/sqlite/sqlite.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator::store_internal {

inline constexpr char kWhere[] = "aggregator store";

// sqlite::Guard with the store's name: errors read "aggregator store: <operation>: why".
template <typename Fn>
auto Guard(absl::string_view operation, Fn&& body) -> decltype(body()) {
  return sqlite::Guard(absl::StrCat(kWhere, ": ", operation), std::forward<Fn>(body));
}

// Weights stored as a serialised manifest and a payload; DataLoss naming `where` if damaged.
absl::StatusOr<protocol::TensorSet> ReadWeights(const std::string& manifest_bytes,
                                                const std::string& payload,
                                                const std::string& where);

}  // namespace scancov::aggregator::store_internal

#endif  // SCANCOV_AGGREGATOR_SERVER_STORE_INTERNAL_H_
