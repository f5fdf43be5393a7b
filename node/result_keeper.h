// ResultKeeper: a task's released result, kept at the node until the aggregator acknowledges
// it, so that a lost connection, a killed node or a restarted aggregator costs an upload, never
// a retraining.
//
// The agent keeps a result (the gate's Release: upload header, weights, and the id of the
// egress ledger entry that recorded it) before the first upload; when the aggregator offers the
// same task again it sends the kept result instead of running the task; it drops the result
// once the upload is answered (accepted or duplicate) or definitively refused. A re-upload of a
// kept result is the same release: it is marked on the same ledger entry, never a new one.
//
// One file per task under `dir` (e.g. "<state>/results"), named by the SHA-256 of the task id
// (task ids contain '/'), written to a temporary file, fsync'ed and renamed: a reader sees a
// whole result or none. The weights' payload hash is verified on load; a damaged file is
// DataLoss (the agent then drops it and runs the task again). The files hold what the gate
// already released for sending (weights, counts, metrics), nothing else of the site's data.
//
// Thread safety: not thread-safe; the node runs one task at a time.
#ifndef SCANCOV_NODE_RESULT_KEEPER_H_
#define SCANCOV_NODE_RESULT_KEEPER_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/gate.h"

namespace scancov::node {

class ResultKeeper {
 public:
  // `dir` is created on the first Keep.
  explicit ResultKeeper(std::string dir) : dir_(std::move(dir)) {}

  // Keeps `release` for its task (header.task_id), replacing any kept before.
  absl::Status Keep(const Release& release);
  // The kept result of `task_id`, or nullopt; DataLoss for a damaged file.
  absl::StatusOr<std::optional<Release>> Find(const std::string& task_id) const;
  // Forgets the task's result (a missing one is fine).
  absl::Status Drop(const std::string& task_id);
  // Forgets results kept before `cutoff` (tasks the aggregator never offered again); returns
  // how many.
  absl::StatusOr<int> DropOlderThan(absl::Time cutoff);
  // Forgets every kept result (no running study includes the site any more).
  absl::Status DropAll();

 private:
  std::string PathFor(const std::string& task_id) const;

  const std::string dir_;
};

// The node's folder for kept results: "results" beside its store file (the site file's "store").
std::string KeptResultsDir(const std::string& store_path);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_RESULT_KEEPER_H_
