// CheckpointCache: the global models the aggregator serves, each read from the store and
// verified once, then shared by every download (when 100 sites fetch a round's 30 MB model at
// the same moment, the aggregator holds it once, not 100 times), with the chunks' SHA-256s
// computed once per chunk size.
//
// Thread safety: all methods are thread-safe; entries are immutable once built (their chunk
// hashes are filled under the entry's own mutex).
#ifndef SCANCOV_AGGREGATOR_SERVER_CHECKPOINT_CACHE_H_
#define SCANCOV_AGGREGATOR_SERVER_CHECKPOINT_CACHE_H_

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "aggregator/server/store.h"
#include "protocol/scancov.pb.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator {

class EncodedCheckpoint {
 public:
  // Verifies the payload against the manifest (sizes, SHA-256): DataLoss naming `id` if not.
  static absl::StatusOr<std::shared_ptr<const EncodedCheckpoint>> Create(std::string id,
                                                                         StoredWeights weights);

  const std::string& id() const { return id_; }
  const std::string& payload() const { return weights_.payload; }
  uint64_t bytes() const { return weights_.payload.size(); }
  // The weights as a TensorSet (a copy: for small models and in-process clients).
  absl::StatusOr<protocol::TensorSet> Decode() const;
  // The manifest for chunks of `chunk_bytes` (0: the default; clamped like WeightsEncoder).
  v1::WeightsManifest Manifest(uint32_t chunk_bytes) const;
  // Chunk `index` of that size, with its SHA-256 (computed once per size, then reused).
  v1::WeightsChunk Chunk(uint32_t chunk_bytes, uint32_t index) const;

 private:
  EncodedCheckpoint(std::string id, StoredWeights weights)
      : id_(std::move(id)), weights_(std::move(weights)) {}
  const std::vector<std::string>& Hashes(uint32_t chunk_bytes) const;

  const std::string id_;
  const StoredWeights weights_;
  mutable absl::Mutex mu_;
  mutable std::map<uint32_t, std::vector<std::string>> hashes_ ABSL_GUARDED_BY(mu_);
};

// Normalises a requested chunk size as the codec does (0: default; above the maximum: clamped).
uint32_t ChunkBytes(uint32_t requested);

class CheckpointCache {
 public:
  explicit CheckpointCache(size_t capacity = 4) : capacity_(capacity) {}

  // The checkpoint `id`, built with `load` on a miss (called without the cache's lock held;
  // two concurrent misses of one id may both load, one result is kept). Keeps the `capacity`
  // most recently used; an evicted entry lives on while a download still holds it.
  absl::StatusOr<std::shared_ptr<const EncodedCheckpoint>> Get(
      const std::string& id, const std::function<absl::StatusOr<StoredWeights>()>& load);
  // Drops `id` (a closed round's model nobody should fetch any more); a download still holding
  // it keeps it alive until it ends.
  void Erase(const std::string& id);

 private:
  const size_t capacity_;
  absl::Mutex mu_;
  std::list<std::shared_ptr<const EncodedCheckpoint>> entries_ ABSL_GUARDED_BY(mu_);  // MRU first
};

// Writes a checkpoint as a weights stream: its manifest, then chunks from `start_chunk` on
// (a resumed download). `write` returns false when the peer is gone: Cancelled.
absl::Status StreamCheckpoint(const EncodedCheckpoint& checkpoint, uint32_t chunk_bytes,
                              uint32_t start_chunk,
                              const std::function<bool(const v1::WeightsMessage&)>& write);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_CHECKPOINT_CACHE_H_
