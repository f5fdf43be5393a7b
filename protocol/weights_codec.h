// Streaming a TensorSet as WeightsManifest + WeightsChunk messages, and reassembling it with
// every hash verified before the weights are used.
//
// The payload is the tensors' bytes concatenated in set order; the manifest lists each tensor's
// name, shape, dtype and byte range, the chunk size and count, and the SHA-256 of the payload.
// Each chunk carries its own SHA-256. Nothing relies on gRPC's message-size limit: chunks are
// small (default 256 KiB) whatever the model size.
#ifndef SCANCOV_PROTOCOL_WEIGHTS_CODEC_H_
#define SCANCOV_PROTOCOL_WEIGHTS_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/scancov.pb.h"
#include "protocol/tensor_set.h"

namespace scancov::protocol {

inline constexpr uint32_t kDefaultChunkBytes = 256 * 1024;
inline constexpr uint32_t kMaxChunkBytes = 2 * 1024 * 1024;
// Refuse manifests announcing more than this (a defence against a hostile peer exhausting memory).
inline constexpr uint64_t kMaxPayloadBytes = 8ull * 1024 * 1024 * 1024;

v1::DType ToProto(DType dtype);
absl::StatusOr<DType> FromProto(v1::DType dtype);

// Splits a TensorSet into a manifest and chunks. Holds a reference to the set: the set must
// outlive the encoder. Not thread-safe.
class WeightsEncoder {
 public:
  // chunk_bytes == 0 selects kDefaultChunkBytes; larger than kMaxChunkBytes is clamped.
  WeightsEncoder(const TensorSet& set, uint32_t chunk_bytes);

  const v1::WeightsManifest& manifest() const { return manifest_; }
  // Fills the next chunk; false when all chunks have been produced.
  bool Next(v1::WeightsChunk* chunk);

 private:
  const TensorSet& set_;
  v1::WeightsManifest manifest_;
  std::string payload_;
  uint32_t next_ = 0;
};

// Reassembles a stream. Call Begin once, Add for each chunk in order, then Finish.
// Every failure names what was wrong (chunk index, tensor name, expected vs got).
class WeightsAssembler {
 public:
  explicit WeightsAssembler(uint64_t max_payload_bytes = kMaxPayloadBytes)
      : max_payload_bytes_(max_payload_bytes) {}

  absl::Status Begin(const v1::WeightsManifest& manifest);
  absl::Status Add(const v1::WeightsChunk& chunk);
  // Verifies the payload hash and builds the set. The assembler is spent afterwards.
  absl::StatusOr<TensorSet> Finish();

  // SHA-256 (raw) of the payload as announced by the manifest.
  const std::string& payload_sha256() const { return manifest_.sha256(); }

 private:
  uint64_t max_payload_bytes_;
  bool begun_ = false;
  v1::WeightsManifest manifest_;
  std::string payload_;
  uint32_t received_ = 0;
};

// Checkpoint storage form: a manifest (chunk fields zero) plus the contiguous payload.
// TensorSetFromPayload verifies the payload hash, so a corrupted row is detected on load.
v1::WeightsManifest ManifestFor(const TensorSet& set, std::string* payload);
absl::StatusOr<TensorSet> TensorSetFromPayload(const v1::WeightsManifest& manifest,
                                               const std::string& payload);

// Hex SHA-256 of the payload of `set`, a stable content identity for weights.
std::string WeightsDigestHex(const TensorSet& set);

}  // namespace scancov::protocol

#endif  // SCANCOV_PROTOCOL_WEIGHTS_CODEC_H_
