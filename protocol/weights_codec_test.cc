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

// The encoder cuts chunks from the tensors themselves: each chunk is exactly the slice of the
// stored payload form (ManifestFor) at its offset, across tensor boundaries and empty tensors,
// for chunk sizes that do and do not divide the tensors.
TEST(WeightsCodecTest, ChunksAreTheSlicesOfThePayloadWithoutAssemblingIt) {
  TensorSet set;
  ASSERT_TRUE(set.Add(MakeFloat32("a", {3}, {1, 2, 3})).ok());
  ASSERT_TRUE(set.Add(MakeFloat32("empty", {0}, {})).ok());
  ASSERT_TRUE(set.Add(MakeFloat32("b", {5}, {4, 5, 6, 7, 8})).ok());
  ASSERT_TRUE(set.Add(FromDoubles("n", {}, DType::kInt64, {9})).ok());
  ASSERT_TRUE(set.Add(MakeFloat32("tail_empty", {2, 0}, {})).ok());
  std::string payload;
  const v1::WeightsManifest stored = ManifestFor(set, &payload);
  for (uint32_t chunk_bytes : {1u, 3u, 4u, 7u, 12u, 40u, 1000u}) {
    WeightsEncoder encoder(set, chunk_bytes);
    EXPECT_EQ(encoder.manifest().sha256(), stored.sha256());
    EXPECT_EQ(encoder.manifest().total_bytes(), payload.size());
    ASSERT_EQ(encoder.manifest().tensors_size(), stored.tensors_size());
    for (int i = 0; i < stored.tensors_size(); ++i) {
      EXPECT_EQ(encoder.manifest().tensors(i).SerializeAsString(),
                stored.tensors(i).SerializeAsString());
    }
    std::string joined;
    v1::WeightsChunk chunk;
    while (encoder.Next(&chunk)) {
      EXPECT_EQ(chunk.offset(), joined.size()) << chunk_bytes;
      EXPECT_EQ(chunk.data(), payload.substr(chunk.offset(), chunk_bytes)) << chunk_bytes;
      EXPECT_EQ(chunk.sha256(), Sha256Digest(chunk.data()));
      joined += chunk.data();
    }
    EXPECT_EQ(joined, payload) << chunk_bytes;
    if (encoder.manifest().num_chunks() <= 2) continue;
    // Resuming lands on the same bytes.
    encoder.SkipTo(2);
    ASSERT_TRUE(encoder.Next(&chunk));
    EXPECT_EQ(chunk.data(), payload.substr(2 * chunk_bytes, chunk_bytes)) << chunk_bytes;
  }
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

// A set of `n` float32 tensors of `elements` each (payload 4 * n * elements bytes).
TensorSet BigSet(int n, int elements) {
  TensorSet set;
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE(set.Add(MakeFloat32("t" + std::to_string(i), {elements},
                                    std::vector<float>(elements, 0.25f * i)))
                    .ok());
  }
  return set;
}

void ExpectRefused(const v1::WeightsManifest& m, const ManifestLimits& limits,
                   absl::StatusCode code, const std::string& words) {
  absl::Status s = CheckManifest(m, limits);
  EXPECT_EQ(s.code(), code) << s;
  EXPECT_NE(s.message().find(words), std::string::npos) << s;
  // The in-memory assembler refuses it the same way, before reserving anything.
  WeightsAssembler assembler(limits);
  EXPECT_EQ(assembler.Begin(m).code(), code);
  EXPECT_EQ(assembler.payload_prefix().capacity() > 4096, false);
}

TEST(CheckManifestTest, AnHonestManifestPasses) {
  WeightsEncoder encoder(BigSet(3, 10000), kMinChunkBytes);
  EXPECT_TRUE(CheckManifest(encoder.manifest(), ManifestLimits()).ok());
  ManifestLimits with_layout;
  with_layout.expected_layout = &encoder.manifest();
  EXPECT_TRUE(CheckManifest(encoder.manifest(), with_layout).ok());
}

TEST(CheckManifestTest, LimitsAreEnforcedAndNamed) {
  const v1::WeightsManifest base = WeightsEncoder(BigSet(3, 10000), kMinChunkBytes).manifest();
  v1::WeightsManifest huge = base;
  huge.set_total_bytes(1ull << 40);
  ExpectRefused(huge, ManifestLimits(), absl::StatusCode::kResourceExhausted,
                "total_bytes 1099511627776 above the limit");
  ManifestLimits few;
  few.max_tensors = 2;
  ExpectRefused(base, few, absl::StatusCode::kResourceExhausted, "3 tensors, above the limit 2");
  few = ManifestLimits();
  few.max_chunks = 2;
  ExpectRefused(base, few, absl::StatusCode::kResourceExhausted, "num_chunks 8 above the limit 2");
}

TEST(CheckManifestTest, TenMillionTinyChunksAreRefused) {
  // 40 MB in 4-byte chunks: the counts agree, the chunk size is what is hostile.
  v1::WeightsManifest m;
  v1::TensorSpec* t = m.add_tensors();
  t->set_name("w");
  t->add_shape(10'000'000);
  t->set_dtype(v1::DTYPE_FLOAT32);
  t->set_nbytes(40'000'000);
  m.set_total_bytes(40'000'000);
  m.set_chunk_bytes(4);
  m.set_num_chunks(10'000'000);
  m.set_sha256(std::string(32, 'x'));
  ExpectRefused(m, ManifestLimits(), absl::StatusCode::kResourceExhausted,
                "num_chunks 10000000 above the limit");
  ManifestLimits many;
  many.max_chunks = 20'000'000;
  ExpectRefused(m, many, absl::StatusCode::kInvalidArgument, "chunk_bytes 4 below the minimum");
  m.set_num_chunks(3);
  ExpectRefused(m, many, absl::StatusCode::kInvalidArgument, "num_chunks 3, expected 10000000");
}

TEST(CheckManifestTest, OverflowingAndLyingShapesAreRefused) {
  v1::WeightsManifest m = WeightsEncoder(BigSet(2, 10), 0).manifest();
  v1::WeightsManifest overflow = m;
  overflow.mutable_tensors(0)->clear_shape();
  for (int i = 0; i < 4; ++i) overflow.mutable_tensors(0)->add_shape(1ll << 20);  // 2^80
  ExpectRefused(overflow, ManifestLimits(), absl::StatusCode::kInvalidArgument,
                "tensor 0 't0': shape");
  v1::WeightsManifest wide = m;  // 2^61 elements of 8 bytes: n fits int64, n * 8 does not
  wide.mutable_tensors(0)->clear_shape();
  wide.mutable_tensors(0)->add_shape(1ll << 61);
  wide.mutable_tensors(0)->set_dtype(v1::DTYPE_FLOAT64);
  ExpectRefused(wide, ManifestLimits(), absl::StatusCode::kInvalidArgument,
                "nbytes 40 does not match its shape");
  v1::WeightsManifest negative = m;
  negative.mutable_tensors(1)->set_shape(0, -10);
  ExpectRefused(negative, ManifestLimits(), absl::StatusCode::kInvalidArgument, "'t1': shape");
  v1::WeightsManifest gap = m;
  gap.mutable_tensors(1)->set_offset(44);
  ExpectRefused(gap, ManifestLimits(), absl::StatusCode::kInvalidArgument,
                "tensor 1 't1': offset 44, expected 40");
  v1::WeightsManifest past = m;
  past.set_total_bytes(60);
  past.set_num_chunks(1);
  past.mutable_tensors(1)->clear_shape();
  past.mutable_tensors(1)->add_shape(100);
  past.mutable_tensors(1)->set_nbytes(400);
  ExpectRefused(past, ManifestLimits(), absl::StatusCode::kInvalidArgument, "runs past");
  v1::WeightsManifest short_total = m;
  short_total.set_total_bytes(100);
  ExpectRefused(short_total, ManifestLimits(), absl::StatusCode::kInvalidArgument,
                "tensors cover 80 bytes but total_bytes is 100");
}

TEST(CheckManifestTest, NamesHashAndDtypeAreChecked) {
  const v1::WeightsManifest m = WeightsEncoder(BigSet(2, 10), 0).manifest();
  v1::WeightsManifest dup = m;
  dup.mutable_tensors(1)->set_name("t0");
  ExpectRefused(dup, ManifestLimits(), absl::StatusCode::kInvalidArgument,
                "tensor 1: duplicate name 't0'");
  v1::WeightsManifest empty = m;
  empty.mutable_tensors(0)->set_name("");
  ExpectRefused(empty, ManifestLimits(), absl::StatusCode::kInvalidArgument,
                "tensor 0: empty name");
  v1::WeightsManifest hash = m;
  hash.set_sha256("abc");
  ExpectRefused(hash, ManifestLimits(), absl::StatusCode::kInvalidArgument,
                "sha256 must be 32 bytes, got 3");
  v1::WeightsManifest dtype = m;
  dtype.mutable_tensors(0)->set_dtype(v1::DTYPE_UNSPECIFIED);
  ExpectRefused(dtype, ManifestLimits(), absl::StatusCode::kInvalidArgument, "unknown dtype");
}

TEST(CheckManifestTest, ExpectedLayoutMustMatchExactly) {
  const v1::WeightsManifest expected = WeightsEncoder(BigSet(2, 10), 0).manifest();
  ManifestLimits limits;
  limits.expected_layout = &expected;
  ExpectRefused(WeightsEncoder(BigSet(3, 10), 0).manifest(), limits,
                absl::StatusCode::kInvalidArgument, "3 tensors, the expected layout has 2");
  ExpectRefused(WeightsEncoder(BigSet(2, 11), 0).manifest(), limits,
                absl::StatusCode::kInvalidArgument, "tensor 0 is 't0' [11]");
  TensorSet renamed;
  ASSERT_TRUE(renamed.Add(MakeFloat32("t0", {10}, std::vector<float>(10))).ok());
  ASSERT_TRUE(renamed.Add(MakeFloat32("other", {10}, std::vector<float>(10))).ok());
  ExpectRefused(WeightsEncoder(renamed, 0).manifest(), limits, absl::StatusCode::kInvalidArgument,
                "expected 't1'");
}

TEST(WeightsCodecTest, EncoderSkipsToAChunkAndAssemblerResumesFromAPrefix) {
  const TensorSet set = MakeSet();
  WeightsEncoder first(set, 512);
  WeightsAssembler dropped;
  ASSERT_TRUE(dropped.Begin(first.manifest()).ok());
  v1::WeightsChunk chunk;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(first.Next(&chunk));
    ASSERT_TRUE(dropped.Add(chunk).ok());
  }
  EXPECT_EQ(dropped.received(), 3u);
  // The connection drops; the receiver keeps its verified prefix and asks from chunk 3.
  WeightsEncoder again(set, 512);
  again.SkipTo(dropped.received());
  WeightsAssembler resumed;
  ASSERT_TRUE(resumed.Begin(again.manifest()).ok());
  ASSERT_TRUE(resumed.Resume(dropped.payload_prefix()).ok());
  ASSERT_TRUE(again.Next(&chunk));
  EXPECT_EQ(chunk.index(), 3u);
  ASSERT_TRUE(resumed.Add(chunk).ok());
  while (again.Next(&chunk)) ASSERT_TRUE(resumed.Add(chunk).ok());
  auto back = resumed.Finish();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(WeightsDigestHex(*back), WeightsDigestHex(set));
  // A prefix that is not whole chunks is refused; SkipTo past the end produces nothing.
  WeightsAssembler odd;
  ASSERT_TRUE(odd.Begin(again.manifest()).ok());
  EXPECT_EQ(odd.Resume(std::string(100, 'x')).code(), absl::StatusCode::kInvalidArgument);
  again.SkipTo(1000);
  EXPECT_FALSE(again.Next(&chunk));
}

TEST(WeightsCodecTest, PayloadFormRoundTripsAndDetectsCorruption) {
  const TensorSet set = MakeSet();
  std::string payload;
  const v1::WeightsManifest manifest = ManifestFor(set, &payload);
  auto back = TensorSetFromPayload(manifest, payload);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(WeightsDigestHex(*back), WeightsDigestHex(set));
  payload[17] ^= 0x10;
  EXPECT_EQ(TensorSetFromPayload(manifest, payload).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace scancov::protocol
