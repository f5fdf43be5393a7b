#include "protocol/weights_codec.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "core/status_macros.h"

namespace scancov::protocol {

v1::DType ToProto(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return v1::DTYPE_FLOAT32;
    case DType::kFloat64:
      return v1::DTYPE_FLOAT64;
    case DType::kFloat16:
      return v1::DTYPE_FLOAT16;
    case DType::kBFloat16:
      return v1::DTYPE_BFLOAT16;
    case DType::kInt64:
      return v1::DTYPE_INT64;
    case DType::kInt32:
      return v1::DTYPE_INT32;
    case DType::kUInt8:
      return v1::DTYPE_UINT8;
    case DType::kBool:
      return v1::DTYPE_BOOL;
  }
  return v1::DTYPE_UNSPECIFIED;
}

absl::StatusOr<DType> FromProto(v1::DType dtype) {
  switch (dtype) {
    case v1::DTYPE_FLOAT32:
      return DType::kFloat32;
    case v1::DTYPE_FLOAT64:
      return DType::kFloat64;
    case v1::DTYPE_FLOAT16:
      return DType::kFloat16;
    case v1::DTYPE_BFLOAT16:
      return DType::kBFloat16;
    case v1::DTYPE_INT64:
      return DType::kInt64;
    case v1::DTYPE_INT32:
      return DType::kInt32;
    case v1::DTYPE_UINT8:
      return DType::kUInt8;
    case v1::DTYPE_BOOL:
      return DType::kBool;
    default:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown dtype enum ", static_cast<int>(dtype)));
}

v1::WeightsManifest ManifestFor(const TensorSet& set, std::string* payload) {
  v1::WeightsManifest manifest;
  payload->clear();
  payload->reserve(set.TotalBytes());
  for (const Tensor& t : set.tensors()) {
    v1::TensorSpec* spec = manifest.add_tensors();
    spec->set_name(t.name);
    for (int64_t d : t.shape) spec->add_shape(d);
    spec->set_dtype(ToProto(t.dtype));
    spec->set_offset(payload->size());
    spec->set_nbytes(t.bytes.size());
    payload->append(t.bytes);
  }
  manifest.set_total_bytes(payload->size());
  manifest.set_sha256(Sha256Digest(*payload));
  return manifest;
}

std::string WeightsDigestHex(const TensorSet& set) {
  Sha256 h;
  for (const Tensor& t : set.tensors()) h.Update(t.bytes);
  return ToHex(h.Finish());
}

WeightsEncoder::WeightsEncoder(const TensorSet& set, uint32_t chunk_bytes) : set_(set) {
  if (chunk_bytes == 0) chunk_bytes = kDefaultChunkBytes;
  chunk_bytes = std::min(chunk_bytes, kMaxChunkBytes);
  // The manifest as ManifestFor writes it, without assembling the payload: chunks are cut from
  // the tensors' own bytes (a model is never held twice to be sent).
  Sha256 digest;
  uint64_t offset = 0;
  for (const Tensor& t : set.tensors()) {
    v1::TensorSpec* spec = manifest_.add_tensors();
    spec->set_name(t.name);
    for (int64_t d : t.shape) spec->add_shape(d);
    spec->set_dtype(ToProto(t.dtype));
    spec->set_offset(offset);
    spec->set_nbytes(t.bytes.size());
    digest.Update(t.bytes);
    offset += t.bytes.size();
  }
  manifest_.set_total_bytes(offset);
  manifest_.set_sha256(digest.Finish());
  manifest_.set_chunk_bytes(chunk_bytes);
  manifest_.set_num_chunks(static_cast<uint32_t>((offset + chunk_bytes - 1) / chunk_bytes));
}

bool WeightsEncoder::Next(v1::WeightsChunk* chunk) {
  if (next_ >= manifest_.num_chunks()) return false;
  const uint64_t offset = static_cast<uint64_t>(next_) * manifest_.chunk_bytes();
  const uint64_t size =
      std::min<uint64_t>(manifest_.chunk_bytes(), manifest_.total_bytes() - offset);
  chunk->Clear();
  chunk->set_index(next_);
  chunk->set_offset(offset);
  std::string* data = chunk->mutable_data();
  data->reserve(size);
  // The tensors overlapping [offset, offset + size), in payload order (specs are sorted).
  const auto& specs = manifest_.tensors();
  auto it = std::upper_bound(specs.begin(), specs.end(), offset,
                             [](uint64_t o, const v1::TensorSpec& s) { return o < s.offset(); });
  for (int i = static_cast<int>(it - specs.begin()) - 1; i < specs.size() && data->size() < size;
       ++i) {
    if (i < 0) continue;
    const std::string& bytes = set_.tensors()[i].bytes;
    const uint64_t at = offset + data->size() - specs[i].offset();
    if (at >= bytes.size()) continue;  // an empty tensor
    data->append(bytes, at, std::min<uint64_t>(bytes.size() - at, size - data->size()));
  }
  chunk->set_sha256(Sha256Digest(*data));
  ++next_;
  return true;
}

void WeightsEncoder::SkipTo(uint32_t index) { next_ = std::min(index, manifest_.num_chunks()); }

namespace {

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("manifest: ", what));
}

// One tensor's spec: known dtype, a shape whose element count neither overflows nor disagrees
// with nbytes, placed at `offset`, within `remaining` bytes of the payload.
absl::Status CheckSpec(const v1::TensorSpec& s, int i, uint64_t offset, uint64_t remaining) {
  const std::string where = absl::StrCat("tensor ", i, " '", s.name(), "'");
  if (s.name().empty()) return Invalid(absl::StrCat("tensor ", i, ": empty name"));
  absl::StatusOr<DType> dtype = FromProto(s.dtype());
  if (!dtype.ok()) return Invalid(absl::StrCat(where, ": ", dtype.status().message()));
  const int64_t n = NumElements({s.shape().begin(), s.shape().end()});
  if (n < 0) {
    return Invalid(absl::StrCat(where, ": shape ",
                                ShapeString({s.shape().begin(), s.shape().end()}),
                                " has a negative dimension or overflows"));
  }
  const uint64_t size = DTypeSize(*dtype);
  if (static_cast<uint64_t>(n) > UINT64_MAX / size ||
      s.nbytes() != static_cast<uint64_t>(n) * size) {
    return Invalid(absl::StrCat(where, ": nbytes ", s.nbytes(), " does not match its shape ",
                                ShapeString({s.shape().begin(), s.shape().end()}), " and dtype ",
                                DTypeName(*dtype)));
  }
  if (s.offset() != offset) {
    return Invalid(absl::StrCat(where, ": offset ", s.offset(), ", expected ", offset));
  }
  if (s.nbytes() > remaining) {
    return Invalid(absl::StrCat(where, ": nbytes ", s.nbytes(), " runs past total_bytes (",
                                remaining, " bytes left)"));
  }
  return absl::OkStatus();
}

// Checks that the specs tile [0, total_bytes) in order with consistent sizes and unique names.
absl::Status ValidateSpecs(const v1::WeightsManifest& m) {
  uint64_t expected_offset = 0;
  absl::flat_hash_set<absl::string_view> names;
  for (int i = 0; i < m.tensors_size(); ++i) {
    const v1::TensorSpec& s = m.tensors(i);
    SCV_RETURN_IF_ERROR(CheckSpec(s, i, expected_offset, m.total_bytes() - expected_offset));
    if (!names.insert(s.name()).second) {
      return Invalid(absl::StrCat("tensor ", i, ": duplicate name '", s.name(), "'"));
    }
    expected_offset += s.nbytes();
  }
  if (expected_offset != m.total_bytes()) {
    return Invalid(absl::StrCat("tensors cover ", expected_offset, " bytes but total_bytes is ",
                                m.total_bytes()));
  }
  if (m.sha256().size() != 32) {
    return Invalid(absl::StrCat("sha256 must be 32 bytes, got ", m.sha256().size()));
  }
  return absl::OkStatus();
}

absl::Status CheckChunking(const v1::WeightsManifest& m, const ManifestLimits& limits) {
  if (m.chunk_bytes() == 0 || m.chunk_bytes() > kMaxChunkBytes) {
    return Invalid(
        absl::StrCat("chunk_bytes ", m.chunk_bytes(), " out of (0, ", kMaxChunkBytes, "]"));
  }
  const uint64_t chunks = (m.total_bytes() + m.chunk_bytes() - 1) / m.chunk_bytes();
  if (chunks != m.num_chunks()) {
    return Invalid(absl::StrCat("num_chunks ", m.num_chunks(), ", expected ", chunks,
                                " (total_bytes ", m.total_bytes(), ", chunk_bytes ",
                                m.chunk_bytes(), ")"));
  }
  if (m.num_chunks() > limits.max_chunks) {
    return absl::ResourceExhaustedError(absl::StrCat("manifest: num_chunks ", m.num_chunks(),
                                                     " above the limit ", limits.max_chunks));
  }
  if (m.num_chunks() > 1 && m.chunk_bytes() < limits.min_chunk_bytes) {
    return Invalid(absl::StrCat("chunk_bytes ", m.chunk_bytes(), " below the minimum ",
                                limits.min_chunk_bytes, " for a stream of ", m.num_chunks(),
                                " chunks"));
  }
  return absl::OkStatus();
}

absl::Status CheckLayout(const v1::WeightsManifest& m, const v1::WeightsManifest& expected) {
  if (m.tensors_size() != expected.tensors_size()) {
    return Invalid(absl::StrCat(m.tensors_size(), " tensors, the expected layout has ",
                                expected.tensors_size()));
  }
  for (int i = 0; i < m.tensors_size(); ++i) {
    const v1::TensorSpec& got = m.tensors(i);
    const v1::TensorSpec& want = expected.tensors(i);
    const std::vector<int64_t> got_shape(got.shape().begin(), got.shape().end());
    const std::vector<int64_t> want_shape(want.shape().begin(), want.shape().end());
    if (got.name() != want.name() || got_shape != want_shape || got.dtype() != want.dtype()) {
      return Invalid(absl::StrCat("tensor ", i, " is '", got.name(), "' ", ShapeString(got_shape),
                                  " dtype ", static_cast<int>(got.dtype()), ", expected '",
                                  want.name(), "' ", ShapeString(want_shape), " dtype ",
                                  static_cast<int>(want.dtype())));
    }
  }
  return absl::OkStatus();
}

}  // namespace

ManifestLimits AnyChunkSizeLimits(uint64_t max_payload_bytes) {
  ManifestLimits limits;
  limits.max_payload_bytes = max_payload_bytes;
  limits.min_chunk_bytes = 1;
  return limits;
}

absl::Status CheckManifest(const v1::WeightsManifest& m, const ManifestLimits& limits) {
  if (m.total_bytes() > limits.max_payload_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "manifest: total_bytes ", m.total_bytes(), " above the limit ", limits.max_payload_bytes));
  }
  if (static_cast<uint64_t>(m.tensors_size()) > limits.max_tensors) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "manifest: ", m.tensors_size(), " tensors, above the limit ", limits.max_tensors));
  }
  SCV_RETURN_IF_ERROR(CheckChunking(m, limits));
  SCV_RETURN_IF_ERROR(ValidateSpecs(m));
  if (limits.expected_layout != nullptr) {
    SCV_RETURN_IF_ERROR(CheckLayout(m, *limits.expected_layout));
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<TensorSet> BuildSet(const v1::WeightsManifest& m, const std::string& payload) {
  TensorSet set;
  for (const v1::TensorSpec& s : m.tensors()) {
    Tensor t;
    t.name = s.name();
    t.shape.assign(s.shape().begin(), s.shape().end());
    SCV_ASSIGN_OR_RETURN(t.dtype, FromProto(s.dtype()));
    t.bytes.assign(payload.data() + s.offset(), s.nbytes());
    SCV_RETURN_IF_ERROR(Annotate(set.Add(std::move(t)), "manifest"));
  }
  return set;
}

}  // namespace

absl::Status WeightsAssembler::Begin(const v1::WeightsManifest& manifest) {
  if (begun_) return absl::FailedPreconditionError("weights stream: second manifest");
  SCV_RETURN_IF_ERROR(Annotate(CheckManifest(manifest, limits_), "weights stream"));
  manifest_ = manifest;
  payload_.clear();
  payload_.reserve(manifest.total_bytes());  // verified above: within the limits, and tiled
  received_ = 0;
  begun_ = true;
  return absl::OkStatus();
}

absl::Status WeightsAssembler::Feed(const v1::WeightsMessage& message) {
  if (!begun_) {
    if (!message.has_manifest()) {
      return absl::InvalidArgumentError("weights stream: missing manifest");
    }
    return Begin(message.manifest());
  }
  if (!message.has_chunk()) return absl::InvalidArgumentError("weights stream: second manifest");
  return Add(message.chunk());
}

absl::Status WeightsAssembler::Resume(std::string prefix) {
  if (!begun_ || received_ != 0) {
    return absl::FailedPreconditionError("weights stream: resume needs a fresh manifest");
  }
  const uint64_t chunk = manifest_.chunk_bytes();
  const uint64_t chunks = prefix.size() / chunk;
  if (prefix.size() % chunk != 0 || chunks >= manifest_.num_chunks()) {
    return absl::InvalidArgumentError(absl::StrCat("weights stream: resume prefix of ",
                                                   prefix.size(),
                                                   " bytes is not a whole number"
                                                   " of chunks before the last (chunk_bytes ",
                                                   chunk, ")"));
  }
  payload_ = std::move(prefix);
  payload_.reserve(manifest_.total_bytes());
  received_ = static_cast<uint32_t>(chunks);
  return absl::OkStatus();
}

std::string WeightsAssembler::TakePayloadPrefix() {
  begun_ = false;
  received_ = 0;
  std::string prefix = std::move(payload_);
  payload_.clear();
  return prefix;
}

absl::Status WeightsAssembler::Add(const v1::WeightsChunk& chunk) {
  if (!begun_) return absl::FailedPreconditionError("weights stream: chunk before manifest");
  const std::string where = absl::StrCat("weights stream: chunk ", chunk.index());
  if (chunk.index() != received_) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": out of order, expected chunk ", received_));
  }
  if (received_ >= manifest_.num_chunks()) {
    return absl::InvalidArgumentError(where + ": more chunks than the manifest announced");
  }
  const uint64_t offset = static_cast<uint64_t>(received_) * manifest_.chunk_bytes();
  const uint64_t size =
      std::min<uint64_t>(manifest_.chunk_bytes(), manifest_.total_bytes() - offset);
  if (chunk.offset() != offset || chunk.data().size() != size) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": offset/size ", chunk.offset(), "/",
                                                   chunk.data().size(), ", expected ", offset, "/",
                                                   size));
  }
  if (Sha256Digest(chunk.data()) != chunk.sha256()) {
    return absl::DataLossError(where + ": sha256 mismatch (corrupted in transit)");
  }
  payload_.append(chunk.data());
  ++received_;
  return absl::OkStatus();
}

absl::StatusOr<TensorSet> WeightsAssembler::Finish() {
  if (!begun_) return absl::FailedPreconditionError("weights stream: no manifest");
  if (received_ != manifest_.num_chunks()) {
    return absl::DataLossError(absl::StrCat("weights stream: truncated, ", received_, " of ",
                                            manifest_.num_chunks(), " chunks received"));
  }
  if (Sha256Digest(payload_) != manifest_.sha256()) {
    return absl::DataLossError("weights stream: sha256 of the whole set does not match");
  }
  begun_ = false;
  return BuildSet(manifest_, payload_);
}

absl::StatusOr<TensorSet> TensorSetFromPayload(const v1::WeightsManifest& manifest,
                                               const std::string& payload) {
  SCV_RETURN_IF_ERROR(ValidateSpecs(manifest));
  if (payload.size() != manifest.total_bytes()) {
    return absl::DataLossError(absl::StrCat(
        "checkpoint: ", payload.size(), " payload bytes, manifest says ", manifest.total_bytes()));
  }
  if (Sha256Digest(payload) != manifest.sha256()) {
    return absl::DataLossError("checkpoint: payload sha256 does not match its manifest");
  }
  return BuildSet(manifest, payload);
}

}  // namespace scancov::protocol
