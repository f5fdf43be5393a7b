// AggregatorStore: the global models and strategy states (table checkpoints; store.h).
#include "absl/strings/str_cat.h"
#include "aggregator/server/store.h"
#include "aggregator/server/store_internal.h"
#include "core/sha256.h"
#include "core/sqlite/sqlite.h"
#include "core/status_macros.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {

namespace store_internal {

absl::StatusOr<protocol::TensorSet> ReadWeights(const std::string& manifest_bytes,
                                                const std::string& payload,
                                                const std::string& where) {
  v1::WeightsManifest manifest;
  if (!manifest.ParseFromString(manifest_bytes)) {
    return absl::DataLossError(where + ": unreadable manifest");
  }
  absl::StatusOr<protocol::TensorSet> set = protocol::TensorSetFromPayload(manifest, payload);
  if (!set.ok()) return Annotate(set.status(), where);
  return set;
}

}  // namespace store_internal

using store_internal::Guard;
using store_internal::ReadWeights;

absl::Status AggregatorStore::PutCheckpoint(const std::string& checkpoint_id,
                                            const std::string& study_id, uint32_t round,
                                            const protocol::TensorSet& weights,
                                            int64_t created_unix) {
  return Guard("put checkpoint", [&] {
    std::string payload;
    const v1::WeightsManifest manifest = protocol::ManifestFor(weights, &payload);
    SQLite::Statement q(*db_, "INSERT OR REPLACE INTO checkpoints VALUES(?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, checkpoint_id);
    q.bind(2, study_id);
    q.bind(3, static_cast<int64_t>(round));
    sqlite::BindBlob(q, 4, manifest.SerializeAsString());
    sqlite::BindBlobNoCopy(q, 5, payload);  // payload outlives exec() below
    q.bind(6, ToHex(manifest.sha256()));
    q.bind(7, created_unix);
    q.exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<int> AggregatorStore::PruneCheckpoints(const std::string& study_id,
                                                      uint32_t first_kept_round) {
  return Guard("prune checkpoints", [&]() -> absl::StatusOr<int> {
    SQLite::Statement q(*db_, "DELETE FROM checkpoints WHERE study_id = ? AND round < ?");
    q.bind(1, study_id);
    q.bind(2, static_cast<int64_t>(first_kept_round));
    return q.exec();
  });
}

absl::StatusOr<protocol::TensorSet> AggregatorStore::GetCheckpoint(
    const std::string& checkpoint_id) {
  return Guard("get checkpoint", [&]() -> absl::StatusOr<protocol::TensorSet> {
    SQLite::Statement q(*db_, "SELECT manifest, payload FROM checkpoints WHERE checkpoint_id = ?");
    q.bind(1, checkpoint_id);
    if (!q.executeStep()) {
      return absl::NotFoundError(absl::StrCat("checkpoint '", checkpoint_id, "' not found"));
    }
    sqlite::Row row(q);
    const std::string manifest = row.Blob();
    return ReadWeights(manifest, row.Blob(), absl::StrCat("checkpoint '", checkpoint_id, "'"));
  });
}

absl::StatusOr<StoredWeights> AggregatorStore::GetStoredCheckpoint(
    const std::string& checkpoint_id) {
  return Guard("get stored checkpoint", [&]() -> absl::StatusOr<StoredWeights> {
    SQLite::Statement q(*db_, "SELECT manifest, payload FROM checkpoints WHERE checkpoint_id = ?");
    q.bind(1, checkpoint_id);
    if (!q.executeStep()) {
      return absl::NotFoundError(absl::StrCat("checkpoint '", checkpoint_id, "' not found"));
    }
    sqlite::Row row(q);
    StoredWeights out;
    if (!out.manifest.ParseFromString(row.Blob())) {
      return absl::DataLossError(
          absl::StrCat("checkpoint '", checkpoint_id, "': unreadable manifest"));
    }
    out.payload = row.Blob();
    return out;
  });
}

}  // namespace scancov::aggregator
