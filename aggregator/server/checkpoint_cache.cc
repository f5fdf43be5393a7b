#include "aggregator/server/checkpoint_cache.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {
namespace {

std::string Sha(absl::string_view bytes) {
  Sha256 h;
  h.Update(bytes);
  return h.Finish();
}

}  // namespace

uint32_t ChunkBytes(uint32_t requested) {
  if (requested == 0) return protocol::kDefaultChunkBytes;
  return std::min(requested, protocol::kMaxChunkBytes);
}

absl::StatusOr<std::shared_ptr<const EncodedCheckpoint>> EncodedCheckpoint::Create(
    std::string id, StoredWeights weights) {
  uint64_t total = 0;
  for (const v1::TensorSpec& t : weights.manifest.tensors()) {
    if (t.offset() != total) {
      return absl::DataLossError(absl::StrCat("checkpoint '", id, "': tensor '", t.name(),
                                              "' does not follow the one before it"));
    }
    total += t.nbytes();
  }
  if (total != weights.payload.size() || weights.manifest.total_bytes() != total) {
    return absl::DataLossError(absl::StrCat("checkpoint '", id, "': the manifest announces ",
                                            weights.manifest.total_bytes(),
                                            " bytes, the store holds ", weights.payload.size()));
  }
  if (Sha(weights.payload) != weights.manifest.sha256()) {
    return absl::DataLossError(absl::StrCat("checkpoint '", id, "': payload SHA-256 mismatch"));
  }
  return std::shared_ptr<const EncodedCheckpoint>(
      new EncodedCheckpoint(std::move(id), std::move(weights)));
}

absl::StatusOr<protocol::TensorSet> EncodedCheckpoint::Decode() const {
  return protocol::TensorSetFromPayload(weights_.manifest, weights_.payload);
}

v1::WeightsManifest EncodedCheckpoint::Manifest(uint32_t chunk_bytes) const {
  const uint32_t size = ChunkBytes(chunk_bytes);
  v1::WeightsManifest m = weights_.manifest;
  m.set_chunk_bytes(size);
  m.set_num_chunks(static_cast<uint32_t>((bytes() + size - 1) / size));
  return m;
}

const std::vector<std::string>& EncodedCheckpoint::Hashes(uint32_t size) const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string>& hashes = hashes_[size];
  if (hashes.empty()) {
    for (uint64_t offset = 0; offset < bytes(); offset += size) {
      hashes.push_back(Sha(absl::string_view(payload()).substr(offset, size)));
    }
  }
  return hashes;  // std::map nodes are stable; the vector is never changed again
}

v1::WeightsChunk EncodedCheckpoint::Chunk(uint32_t chunk_bytes, uint32_t index) const {
  const uint32_t size = ChunkBytes(chunk_bytes);
  const uint64_t offset = static_cast<uint64_t>(index) * size;
  v1::WeightsChunk chunk;
  chunk.set_index(index);
  chunk.set_offset(offset);
  chunk.set_data(payload().substr(offset, size));
  chunk.set_sha256(Hashes(size)[index]);
  return chunk;
}

absl::StatusOr<std::shared_ptr<const EncodedCheckpoint>> CheckpointCache::Get(
    const std::string& id, const std::function<absl::StatusOr<StoredWeights>()>& load) {
  {
    absl::MutexLock lock(&mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if ((*it)->id() != id) continue;
      entries_.splice(entries_.begin(), entries_, it);
      return entries_.front();
    }
  }
  absl::StatusOr<StoredWeights> stored = load();
  if (!stored.ok()) return stored.status();
  absl::StatusOr<std::shared_ptr<const EncodedCheckpoint>> built =
      EncodedCheckpoint::Create(id, std::move(*stored));
  if (!built.ok()) return built.status();
  absl::MutexLock lock(&mu_);
  for (const auto& e : entries_) {
    if (e->id() == id) return e;  // a concurrent miss got there first
  }
  entries_.push_front(*built);
  while (entries_.size() > capacity_) entries_.pop_back();
  return *built;
}

void CheckpointCache::Erase(const std::string& id) {
  absl::MutexLock lock(&mu_);
  entries_.remove_if([&](const auto& e) { return e->id() == id; });
}

absl::Status StreamCheckpoint(const EncodedCheckpoint& checkpoint, uint32_t chunk_bytes,
                              uint32_t start_chunk,
                              const std::function<bool(const v1::WeightsMessage&)>& write) {
  v1::WeightsMessage message;
  *message.mutable_manifest() = checkpoint.Manifest(chunk_bytes);
  const uint32_t chunks = message.manifest().num_chunks();
  if (start_chunk > chunks) {
    return absl::OutOfRangeError(absl::StrCat("start_chunk ", start_chunk, " is past the ", chunks,
                                              " chunks of checkpoint '", checkpoint.id(), "'"));
  }
  if (!write(message)) return absl::CancelledError("the peer is gone");
  for (uint32_t i = start_chunk; i < chunks; ++i) {
    message.Clear();
    *message.mutable_chunk() = checkpoint.Chunk(chunk_bytes, i);
    if (!write(message)) return absl::CancelledError("the peer is gone");
  }
  return absl::OkStatus();
}

}  // namespace scancov::aggregator
