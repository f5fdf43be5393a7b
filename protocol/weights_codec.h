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
inline constexpr uint32_t kMaxChunks = 1u << 20;
inline constexpr uint32_t kMaxTensors = 1u << 16;
// Below this a multi-chunk stream is refused by default (no "millions of tiny chunks").
inline constexpr uint32_t kMinChunkBytes = 16 * 1024;

// What a receiver accepts from a manifest before it allocates or creates anything.
struct ManifestLimits {
  uint64_t max_payload_bytes = kMaxPayloadBytes;
  uint32_t max_chunks = kMaxChunks;
  uint32_t max_tensors = kMaxTensors;
  // chunk_bytes must be at least this when the stream has more than one chunk (a payload that
  // fits one chunk may announce any chunk size).
  uint32_t min_chunk_bytes = kMinChunkBytes;
  // Non-null: the names, shapes and dtypes the payload must have, in this order (e.g. the
  // round's global model). Not owned; must outlive the check.
  const v1::WeightsManifest* expected_layout = nullptr;
};

// Every check a manifest needs before anything is allocated for it: limits (payload bytes,
// chunk count, tensor count, chunk size in [min_chunk_bytes, kMaxChunkBytes]), num_chunks ==
// ceil(total_bytes / chunk_bytes), sha256 32 bytes, names unique and non-empty, known dtypes,
// shapes whose element counts do not overflow and match nbytes / dtype size, tensors tiling
// [0, total_bytes) contiguously in order, and the expected layout when given.
// InvalidArgument (ResourceExhausted for a limit) naming the field and the values.
absl::Status CheckManifest(const v1::WeightsManifest& m, const ManifestLimits& limits);
// Limits for a peer that may use any chunk size (the codec's own streams, tests).
ManifestLimits AnyChunkSizeLimits(uint64_t max_payload_bytes = kMaxPayloadBytes);

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
  // Resumes at chunk `index` (the receiver holds the ones before): Next then produces it.
  // An index past the end leaves nothing to produce.
  void SkipTo(uint32_t index);

 private:
  const TensorSet& set_;
  v1::WeightsManifest manifest_;
  uint32_t next_ = 0;
};

// Reassembles a stream in memory. Call Begin once, Add for each chunk in order, then Finish.
// Every failure names what was wrong (chunk index, tensor name, expected vs got).
// Holds the whole payload: a receiver facing untrusted peers with large models streams to disk
// instead (aggregator/server/upload_spool.h).
class WeightsAssembler {
 public:
  // Any chunk size (AnyChunkSizeLimits): the in-process client and tests use small chunks.
  explicit WeightsAssembler(uint64_t max_payload_bytes = kMaxPayloadBytes)
      : limits_(AnyChunkSizeLimits(max_payload_bytes)) {}
  explicit WeightsAssembler(const ManifestLimits& limits) : limits_(limits) {}

  // CheckManifest first; only a manifest that passes reserves its (verified) total_bytes.
  absl::Status Begin(const v1::WeightsManifest& manifest);
  // Resumes a stream: `prefix` is the payload of chunks [0, k) received (and verified) before,
  // under the same manifest. Call after Begin, before any Add; Add then expects chunk k.
  absl::Status Resume(std::string prefix);
  absl::Status Add(const v1::WeightsChunk& chunk);
  // One message of a stream: Begin for the first (which must be the manifest), Add after.
  absl::Status Feed(const v1::WeightsMessage& message);
  // Verifies the payload hash and builds the set. The assembler is spent afterwards.
  absl::StatusOr<TensorSet> Finish();

  // SHA-256 (raw) of the payload as announced by the manifest.
  const std::string& payload_sha256() const { return manifest_.sha256(); }
  const v1::WeightsManifest& manifest() const { return manifest_; }
  // Chunks verified so far, and their bytes (the payload prefix a resumed download keeps).
  uint32_t received() const { return received_; }
  const std::string& payload_prefix() const { return payload_; }
  // Moves the verified prefix out (a download kept for a resume); the assembler is spent.
  std::string TakePayloadPrefix();

 private:
  ManifestLimits limits_;
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
