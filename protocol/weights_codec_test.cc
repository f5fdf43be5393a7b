#include "protocol/weights_codec.h"

#include "core/sha256.h"
#include "gtest/gtest.h"

namespace scancov::protocol {
namespace {

TensorSet MakeSet() {
  TensorSet set;
  std::vector<float> w(1000);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.001f * static_cast<float>(i);
  EXPECT_TRUE(set.Add(MakeFloat32("fc.weight", {10, 100}, w)).ok());
  EXPECT_TRUE(set.Add(MakeFloat32("fc.bias", {10}, std::vector<float>(10, 0.5f))).ok());
  EXPECT_TRUE(set.Add(FromDoubles("bn.num_batches_tracked", {}, DType::kInt64, {42})).ok());
  return set;
}

absl::StatusOr<TensorSet> RoundTrip(const TensorSet& set, uint32_t chunk_bytes,
                                    int corrupt_chunk = -1) {
  WeightsEncoder encoder(set, chunk_bytes);
  WeightsAssembler assembler;
  absl::Status s = assembler.Begin(encoder.manifest());
  if (!s.ok()) return s;
  v1::WeightsChunk chunk;
  while (encoder.Next(&chunk)) {
    if (static_cast<int>(chunk.index()) == corrupt_chunk) (*chunk.mutable_data())[0] ^= 1;
    s = assembler.Add(chunk);
    if (!s.ok()) return s;
  }
  return assembler.Finish();
}

TEST(WeightsCodecTest, RoundTripsThroughManyChunks) {
  const TensorSet set = MakeSet();
  WeightsEncoder encoder(set, 128);
  EXPECT_EQ(encoder.manifest().num_chunks(), (4000u + 40u + 8u + 127u) / 128u);
  auto back = RoundTrip(set, 128);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE(set.CheckSameLayout(*back).ok());
  for (size_t i = 0; i < set.size(); ++i) {
    EXPECT_EQ(set.tensors()[i].bytes, back->tensors()[i].bytes);
  }
  EXPECT_EQ(WeightsDigestHex(set), WeightsDigestHex(*back));
}

TEST(WeightsCodecTest, EmptySetRoundTrips) {
  auto back = RoundTrip(TensorSet(), 0);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->empty());
}

TEST(WeightsCodecTest, CorruptedChunkIsRefusedWithItsIndex) {
  auto back = RoundTrip(MakeSet(), 128, /*corrupt_chunk=*/3);
  EXPECT_EQ(back.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(back.status().message().find("chunk 3: sha256 mismatch"), std::string::npos)
      << back.status();
}

TEST(WeightsCodecTest, ChunkWithValidHashButWrongWholeSetIsRefused) {
  const TensorSet set = MakeSet();
  WeightsEncoder encoder(set, 512);
  v1::WeightsManifest manifest = encoder.manifest();
  (*manifest.mutable_sha256())[0] ^= 1;
  WeightsAssembler assembler;
  ASSERT_TRUE(assembler.Begin(manifest).ok());
  v1::WeightsChunk chunk;
  while (encoder.Next(&chunk)) ASSERT_TRUE(assembler.Add(chunk).ok());
  EXPECT_EQ(assembler.Finish().status().code(), absl::StatusCode::kDataLoss);
}

TEST(WeightsCodecTest, TruncatedAndReorderedStreamsAreRefused) {
  const TensorSet set = MakeSet();
  {
    WeightsEncoder encoder(set, 256);
    WeightsAssembler assembler;
    ASSERT_TRUE(assembler.Begin(encoder.manifest()).ok());
    v1::WeightsChunk chunk;
    ASSERT_TRUE(encoder.Next(&chunk));
    ASSERT_TRUE(assembler.Add(chunk).ok());
    auto r = assembler.Finish();
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(r.status().message().find("truncated"), std::string::npos);
  }
  {
    WeightsEncoder encoder(set, 256);
    WeightsAssembler assembler;
    ASSERT_TRUE(assembler.Begin(encoder.manifest()).ok());
    v1::WeightsChunk first, second;
    ASSERT_TRUE(encoder.Next(&first));
    ASSERT_TRUE(encoder.Next(&second));
    EXPECT_EQ(assembler.Add(second).code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(WeightsCodecTest, HostileManifestsAreRefusedBeforeAllocating) {
  WeightsEncoder encoder(MakeSet(), 256);
  v1::WeightsManifest huge = encoder.manifest();
  huge.set_total_bytes(1ull << 40);
  EXPECT_EQ(WeightsAssembler().Begin(huge).code(), absl::StatusCode::kResourceExhausted);

  v1::WeightsManifest lying = encoder.manifest();
  lying.mutable_tensors(1)->set_nbytes(8);
  absl::Status s = WeightsAssembler().Begin(lying);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("fc.bias"), std::string::npos) << s;
}

TEST(WeightsCodecTest, PayloadFormRoundTripsAndDetectsCorruption) {
  const TensorSet set = MakeSet();
  std::string payload;
  const v1::WeightsManifest manifest = ManifestFor(set, &payload);
  auto back = TensorSetFromPayload(manifest, payload);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(WeightsDigestHex(*back), WeightsDigestHex(set));
  payload[17] ^= 0x10;
  EXPECT_EQ(TensorSetFromPayload(manifest, payload).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace scancov::protocol
