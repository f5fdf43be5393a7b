#include "models/nn/checkpoint.h"

#include <cstdint>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "protocol/weights_codec.h"

namespace scancov::nn {
namespace {

constexpr absl::string_view kMagic = "SCVCKPT1";
constexpr size_t kDigestBytes = 32;

void AppendU64(uint64_t value, std::string* out) {
  for (int b = 0; b < 8; ++b) out->push_back(static_cast<char>((value >> (8 * b)) & 0xff));
}

void AppendBlock(absl::string_view block, std::string* out) {
  AppendU64(block.size(), out);
  out->append(block.data(), block.size());
}

absl::Status Corrupt(absl::string_view why) {
  return absl::DataLossError(absl::StrCat("checkpoint: ", why));
}

// Reads a length-prefixed block at *pos of `body` (which excludes the trailing digest).
absl::StatusOr<absl::string_view> ReadBlock(absl::string_view body, size_t* pos,
                                            absl::string_view what) {
  if (body.size() - *pos < 8) return Corrupt(absl::StrCat("truncated before the ", what));
  uint64_t length = 0;
  for (int b = 0; b < 8; ++b) {
    length |= static_cast<uint64_t>(static_cast<unsigned char>(body[*pos + b])) << (8 * b);
  }
  *pos += 8;
  if (length > body.size() - *pos) return Corrupt(absl::StrCat("the ", what, " is truncated"));
  absl::string_view block = body.substr(*pos, length);
  *pos += length;
  return block;
}

absl::Status ReadMetadata(absl::string_view text, Checkpoint* checkpoint) {
  try {
    const nlohmann::json meta = nlohmann::json::parse(text.begin(), text.end());
    checkpoint->model = meta.at("model").get<std::string>();
    checkpoint->model_config_json = meta.at("model_config_json").get<std::string>();
    checkpoint->in_plane = meta.value("in_plane", 0);
    if (checkpoint->in_plane < 0) return Corrupt("negative in_plane in the metadata");
  } catch (const std::exception& e) {
    return Corrupt(absl::StrCat("unreadable metadata (", e.what(), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeCheckpoint(const Checkpoint& checkpoint) {
  nlohmann::json meta = {{"model", checkpoint.model},
                         {"model_config_json", checkpoint.model_config_json}};
  if (checkpoint.in_plane > 0) meta["in_plane"] = checkpoint.in_plane;
  std::string payload;
  const v1::WeightsManifest manifest = protocol::ManifestFor(checkpoint.weights, &payload);
  std::string out(kMagic);
  AppendBlock(meta.dump(), &out);
  AppendBlock(manifest.SerializeAsString(), &out);
  out += payload;
  out += Sha256Digest(out);
  return out;
}

absl::StatusOr<Checkpoint> DecodeCheckpoint(absl::string_view bytes) {
  if (bytes.size() < kMagic.size() + kDigestBytes || bytes.substr(0, kMagic.size()) != kMagic) {
    return Corrupt("not a checkpoint file (bad magic or too short)");
  }
  const absl::string_view body = bytes.substr(0, bytes.size() - kDigestBytes);
  if (Sha256Digest(body) != bytes.substr(body.size())) {
    return Corrupt("SHA-256 of the file does not match (corrupted or truncated)");
  }
  size_t pos = kMagic.size();
  Checkpoint checkpoint;
  SCV_ASSIGN_OR_RETURN(absl::string_view meta, ReadBlock(body, &pos, "metadata"));
  SCV_RETURN_IF_ERROR(ReadMetadata(meta, &checkpoint));
  SCV_ASSIGN_OR_RETURN(absl::string_view manifest_bytes, ReadBlock(body, &pos, "manifest"));
  v1::WeightsManifest manifest;
  if (!manifest.ParseFromArray(manifest_bytes.data(), static_cast<int>(manifest_bytes.size()))) {
    return Corrupt("unreadable manifest");
  }
  const std::string payload(body.substr(pos));
  SCV_ASSIGN_OR_RETURN(checkpoint.weights, protocol::TensorSetFromPayload(manifest, payload));
  return checkpoint;
}

absl::Status SaveCheckpoint(const std::string& path, const Checkpoint& checkpoint) {
  return WriteFileAtomic(path, EncodeCheckpoint(checkpoint));
}

absl::StatusOr<Checkpoint> LoadCheckpoint(const std::string& path) {
  SCV_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  absl::StatusOr<Checkpoint> checkpoint = DecodeCheckpoint(bytes);
  if (!checkpoint.ok()) return Annotate(checkpoint.status(), path);
  return checkpoint;
}

}  // namespace scancov::nn
