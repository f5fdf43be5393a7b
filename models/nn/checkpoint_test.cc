// Tests of checkpoint.h (LibTorch-free): round trips and corruption detection.
#include "models/nn/checkpoint.h"

#include <cstdlib>
#include <string>

#include "core/file_util.h"
#include "gtest/gtest.h"

namespace scancov::nn {
namespace {

using protocol::TensorSet;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

Checkpoint Sample() {
  Checkpoint c;
  c.model = "unet2d";
  c.model_config_json = R"({"base_channels": 4})";
  EXPECT_TRUE(
      c.weights.Add(protocol::MakeFloat32("enc0.conv1.weight", {2, 3}, {1, -2, 3.5f, 0, 1e-8f, -7}))
          .ok());
  protocol::Tensor count;
  count.name = "enc0.norm1.num_batches_tracked";
  count.dtype = protocol::DType::kInt64;
  count.bytes.assign(8, '\0');
  count.bytes[0] = 42;
  EXPECT_TRUE(c.weights.Add(count).ok());
  return c;
}

void ExpectSame(const Checkpoint& a, const Checkpoint& b) {
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.model_config_json, b.model_config_json);
  EXPECT_EQ(a.in_plane, b.in_plane);
  ASSERT_TRUE(a.weights.CheckSameLayout(b.weights).ok());
  for (size_t i = 0; i < a.weights.size(); ++i) {
    EXPECT_EQ(a.weights.tensors()[i].bytes, b.weights.tensors()[i].bytes);
  }
}

TEST(CheckpointTest, FileRoundTrip) {
  const std::string path = TempPath("round_trip.ckpt");
  const Checkpoint original = Sample();
  ASSERT_TRUE(SaveCheckpoint(path, original).ok());
  absl::StatusOr<Checkpoint> loaded = LoadCheckpoint(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ExpectSame(original, *loaded);

  Checkpoint empty;
  absl::StatusOr<Checkpoint> back = DecodeCheckpoint(EncodeCheckpoint(empty));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->weights.empty());
  EXPECT_TRUE(back->model.empty());
  EXPECT_EQ(back->in_plane, 0);
}

TEST(CheckpointTest, KeepsTheTrainingSliceSize) {
  Checkpoint with_size = Sample();
  with_size.in_plane = 96;
  absl::StatusOr<Checkpoint> back = DecodeCheckpoint(EncodeCheckpoint(with_size));
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSame(with_size, *back);
  // A file written without the key (format as of the first release) reads as 0: native grid.
  const std::string plain = EncodeCheckpoint(Sample());
  EXPECT_EQ(plain.find("in_plane"), std::string::npos);
  EXPECT_EQ(DecodeCheckpoint(plain)->in_plane, 0);
}

TEST(CheckpointTest, DetectsEveryAlteredByte) {
  const std::string bytes = EncodeCheckpoint(Sample());
  // Every byte position: the magic, the lengths, metadata, manifest, payload and the digest.
  for (size_t pos = 0; pos < bytes.size(); ++pos) {
    std::string bad = bytes;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x10);
    absl::StatusOr<Checkpoint> decoded = DecodeCheckpoint(bad);
    ASSERT_FALSE(decoded.ok()) << "flipped byte " << pos << " was not detected";
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss) << decoded.status();
  }
}

TEST(CheckpointTest, DetectsTruncationAndForeignFiles) {
  const std::string bytes = EncodeCheckpoint(Sample());
  for (size_t keep : {size_t{0}, size_t{7}, size_t{20}, bytes.size() / 2, bytes.size() - 1}) {
    EXPECT_EQ(DecodeCheckpoint(bytes.substr(0, keep)).status().code(), absl::StatusCode::kDataLoss)
        << "kept " << keep;
  }
  EXPECT_EQ(DecodeCheckpoint(bytes + "x").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeCheckpoint(std::string(100, 'a')).status().code(), absl::StatusCode::kDataLoss);

  const std::string path = TempPath("corrupt.ckpt");
  std::string bad = bytes;
  bad[bad.size() / 2] ^= 1;
  ASSERT_TRUE(WriteFileAtomic(path, bad).ok());
  absl::StatusOr<Checkpoint> loaded = LoadCheckpoint(path);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(loaded.status().message().find(path), std::string::npos) << loaded.status();
  EXPECT_EQ(LoadCheckpoint(TempPath("missing.ckpt")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace scancov::nn
