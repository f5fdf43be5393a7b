#include "aggregator/server/upload_spool.h"

#include <malloc.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/sha256.h"
#include "gtest/gtest.h"

namespace scancov::aggregator {
namespace {

using protocol::TensorSet;
using protocol::WeightsEncoder;

constexpr uint32_t kChunk = protocol::kMinChunkBytes;

// 280,400 payload bytes: 18 chunks of 16 KiB.
TensorSet MakeSet(float scale = 1) {
  TensorSet set;
  std::vector<float> a(40000), b(100), c(30000);
  for (size_t i = 0; i < a.size(); ++i) a[i] = scale * 0.001f * static_cast<float>(i);
  for (size_t i = 0; i < b.size(); ++i) b[i] = scale * static_cast<float>(i);
  for (size_t i = 0; i < c.size(); ++i) c[i] = -scale * 0.5f * static_cast<float>(i);
  EXPECT_TRUE(set.Add(protocol::MakeFloat32("enc.weight", {200, 200}, a)).ok());
  EXPECT_TRUE(set.Add(protocol::MakeFloat32("enc.bias", {100}, b)).ok());
  EXPECT_TRUE(set.Add(protocol::MakeFloat32("head.weight", {30000}, c)).ok());
  return set;
}

UploadKey KeyFor(const TensorSet& set, std::string site = "kb") {
  return {std::move(site), "study/round-1/kb", protocol::WeightsDigestHex(set)};
}

class UploadSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "spool_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void Reopen() {
    spool_.reset();
    auto spool = UploadSpool::Open(dir_, protocol::ManifestLimits());
    ASSERT_TRUE(spool.ok()) << spool.status();
    spool_ = std::move(spool).value();
  }
  std::vector<std::string> Files() {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      names.push_back(e.path().filename().string());
    }
    return names;
  }
  std::string FileEndingWith(const std::string& ext) {
    for (const std::string& f : Files()) {
      if (f.size() > ext.size() && f.compare(f.size() - ext.size(), ext.size(), ext) == 0) {
        return dir_ + "/" + f;
      }
    }
    return "";
  }
  // Begins an upload of `set` and adds chunks [from, to).
  std::unique_ptr<UploadSession> Upload(const TensorSet& set, uint32_t from, uint32_t to) {
    WeightsEncoder encoder(set, kChunk);
    auto session = spool_->Begin(KeyFor(set), encoder.manifest(), nullptr);
    EXPECT_TRUE(session.ok()) << session.status();
    if (!session.ok()) return nullptr;
    EXPECT_EQ((*session)->next_chunk(), from);
    encoder.SkipTo(from);
    v1::WeightsChunk chunk;
    for (uint32_t i = from; i < to && encoder.Next(&chunk); ++i) {
      EXPECT_TRUE((*session)->Add(chunk).ok());
    }
    return std::move(session).value();
  }
  void ExpectSameAs(const SpooledWeights& w, const TensorSet& set) {
    auto back = LoadSpooled(w);
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_TRUE(set.CheckSameLayout(*back).ok());
    EXPECT_EQ(protocol::WeightsDigestHex(*back), protocol::WeightsDigestHex(set));
  }

  std::string dir_;
  std::unique_ptr<UploadSpool> spool_;
};

TEST_F(UploadSpoolTest, PutForEachTensorAndLoadRoundTrip) {
  const TensorSet set = MakeSet();
  auto w = spool_->Put(KeyFor(set), set);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->bytes, set.TotalBytes());
  EXPECT_EQ(w->sha256_hex, protocol::WeightsDigestHex(set));
  EXPECT_EQ(spool_->bytes_on_disk(), set.TotalBytes() + w->manifest.ByteSizeLong());
  std::vector<std::string> seen;
  ASSERT_TRUE(ForEachTensor(*w, [&](size_t i, protocol::Tensor t) {
                EXPECT_EQ(t.bytes, set.tensors()[i].bytes);
                seen.push_back(t.name);
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"enc.weight", "enc.bias", "head.weight"}));
  ExpectSameAs(*w, set);
  // Finished: found again, and a second Put (a retried upload) is the same file.
  auto found = spool_->Find(KeyFor(set));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->path, w->path);
  EXPECT_EQ(spool_->VerifiedChunks(KeyFor(set), kChunk), 18u);
  auto again = spool_->Put(KeyFor(set), set);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->path, w->path);
  ASSERT_TRUE(spool_->Remove(*w).ok());
  EXPECT_EQ(spool_->bytes_on_disk(), 0u);
  EXPECT_EQ(spool_->Find(KeyFor(set)).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(UploadSpoolTest, ADroppedUploadResumesFromItsLastVerifiedChunk) {
  const TensorSet set = MakeSet();
  Upload(set, 0, 7).reset();  // the stream dies after 7 chunks
  EXPECT_EQ(spool_->VerifiedChunks(KeyFor(set), kChunk), 7u);
  EXPECT_EQ(spool_->VerifiedChunks(KeyFor(set), 2 * kChunk), 0u);  // another chunking
  std::unique_ptr<UploadSession> session = Upload(set, 7, 18);
  auto w = session->Finish();
  ASSERT_TRUE(w.ok()) << w.status();
  ExpectSameAs(*w, set);
  EXPECT_EQ(Files().size(), 2u);  // .weights and .manifest; no .part or .sums left
}

TEST_F(UploadSpoolTest, ARestartedAggregatorReverifiesAndResumesWhatIsOnDisk) {
  const TensorSet set = MakeSet();
  Upload(set, 0, 10).reset();
  // Killed mid-chunk: half a chunk after the last verified one, and no record for it.
  { std::ofstream(FileEndingWith(".part"), std::ios::app) << std::string(5000, 'x'); }
  Reopen();
  EXPECT_EQ(spool_->VerifiedChunks(KeyFor(set), kChunk), 10u);
  // A bit flipped on disk in chunk 4: only chunks 0-3 still count.
  {
    std::fstream f(FileEndingWith(".part"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4 * kChunk + 100);
    f.put('\x7f');
  }
  Reopen();
  EXPECT_EQ(spool_->VerifiedChunks(KeyFor(set), kChunk), 4u);
  auto w = Upload(set, 4, 18)->Finish();
  ASSERT_TRUE(w.ok()) << w.status();
  ExpectSameAs(*w, set);
}

TEST_F(UploadSpoolTest, WrongIndexHashOffsetAndSizeAreRefusedAndChangeNothing) {
  const TensorSet set = MakeSet();
  WeightsEncoder encoder(set, kChunk);
  auto session = spool_->Begin(KeyFor(set), encoder.manifest(), nullptr);
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<v1::WeightsChunk> chunks(18);
  for (auto& c : chunks) ASSERT_TRUE(encoder.Next(&c));
  // A stream starting at the wrong place: worth asking UploadStatus again.
  EXPECT_EQ((*session)->Add(chunks[3]).code(), absl::StatusCode::kAborted);
  ASSERT_TRUE((*session)->Add(chunks[0]).ok());
  absl::Status s = (*session)->Add(chunks[2]);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("chunk 2: out of order, expected chunk 1"), std::string::npos) << s;
  v1::WeightsChunk corrupt = chunks[1];
  (*corrupt.mutable_data())[10] ^= 1;
  s = (*session)->Add(corrupt);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("study/round-1/kb"), std::string::npos) << s;
  v1::WeightsChunk moved = chunks[1];
  moved.set_offset(moved.offset() + 4);
  EXPECT_EQ((*session)->Add(moved).code(), absl::StatusCode::kInvalidArgument);
  v1::WeightsChunk short_chunk = chunks[1];
  short_chunk.mutable_data()->resize(100);
  short_chunk.set_sha256(Sha256Digest(short_chunk.data()));
  EXPECT_EQ((*session)->Add(short_chunk).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*session)->next_chunk(), 1u);
  EXPECT_EQ((*session)->Finish().status().code(), absl::StatusCode::kDataLoss);  // truncated
  for (size_t i = 1; i < chunks.size(); ++i) ASSERT_TRUE((*session)->Add(chunks[i]).ok());
  auto w = (*session)->Finish();
  ASSERT_TRUE(w.ok()) << w.status();
  ExpectSameAs(*w, set);
}

TEST_F(UploadSpoolTest, NonFiniteValuesAndAWrongWholeHashAreRefusedAtFinishAndDeleted) {
  TensorSet bad = MakeSet();
  TensorSet nan_set;
  for (const protocol::Tensor& t : bad.tensors()) {
    protocol::Tensor copy = t;
    if (t.name == "head.weight") {
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::memcpy(copy.bytes.data() + 4 * 29999, &nan, 4);  // the very last element
    }
    ASSERT_TRUE(nan_set.Add(std::move(copy)).ok());
  }
  auto w = spool_->Put(KeyFor(nan_set), nan_set);
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(w.status().message().find("'head.weight' has a non-finite value"), std::string::npos)
      << w.status();
  EXPECT_EQ(spool_->bytes_on_disk(), 0u);

  const TensorSet set = MakeSet();
  WeightsEncoder encoder(set, kChunk);
  v1::WeightsManifest lying = encoder.manifest();
  (*lying.mutable_sha256())[0] ^= 1;
  UploadKey key = KeyFor(set);
  key.sha256_hex = ToHex(lying.sha256());
  auto session = spool_->Begin(key, lying, nullptr);
  ASSERT_TRUE(session.ok()) << session.status();
  v1::WeightsChunk chunk;
  while (encoder.Next(&chunk)) ASSERT_TRUE((*session)->Add(chunk).ok());
  EXPECT_EQ((*session)->Finish().status().code(), absl::StatusCode::kDataLoss);
  session->reset();
  EXPECT_EQ(spool_->bytes_on_disk(), 0u);
  EXPECT_EQ(spool_->VerifiedChunks(key, kChunk), 0u);
}

// Bytes the heap holds now (glibc).
size_t HeapInUse() { return mallinfo2().uordblks; }

TEST_F(UploadSpoolTest, HostileManifestsAreRefusedBeforeAnyFileOrAllocation) {
  const TensorSet set = MakeSet();
  const v1::WeightsManifest honest = WeightsEncoder(set, kChunk).manifest();
  std::vector<v1::WeightsManifest> hostile;
  v1::WeightsManifest huge = honest;  // 1 TiB announced, consistently
  huge.mutable_tensors(2)->set_shape(0, (1ll << 38) - 40100);
  huge.mutable_tensors(2)->set_nbytes(4 * ((1ull << 38) - 40100));
  huge.set_total_bytes(1ull << 40);
  huge.set_num_chunks(static_cast<uint32_t>((1ull << 40) / kChunk));
  hostile.push_back(huge);
  v1::WeightsManifest overflow = honest;
  overflow.mutable_tensors(0)->set_shape(0, 1ll << 40);
  overflow.mutable_tensors(0)->set_shape(1, 1ll << 40);
  hostile.push_back(overflow);
  v1::WeightsManifest tiny = honest;  // the honest payload in 1-byte chunks
  tiny.set_chunk_bytes(1);
  tiny.set_num_chunks(static_cast<uint32_t>(honest.total_bytes()));
  hostile.push_back(tiny);
  v1::WeightsManifest many;  // 10^7 tiny chunks of a 40 MB payload
  v1::TensorSpec* t = many.add_tensors();
  t->set_name("w");
  t->add_shape(10'000'000);
  t->set_dtype(v1::DTYPE_FLOAT32);
  t->set_nbytes(40'000'000);
  many.set_total_bytes(40'000'000);
  many.set_chunk_bytes(4);
  many.set_num_chunks(10'000'000);
  many.set_sha256(honest.sha256());
  hostile.push_back(many);
  const size_t heap_before = HeapInUse();
  for (const v1::WeightsManifest& m : hostile) {
    UploadKey key = KeyFor(set);
    auto session = spool_->Begin(key, m, nullptr);
    EXPECT_FALSE(session.ok());
    EXPECT_NE(session.status().message().find("upload of task 'study/round-1/kb' from site 'kb'"),
              std::string::npos)
        << session.status();
  }
  // The round's model has other names: refused against the expected layout.
  TensorSet other;
  ASSERT_TRUE(
      other.Add(protocol::MakeFloat32("enc.weight", {200, 200}, std::vector<float>(40000))).ok());
  const v1::WeightsManifest expected = WeightsEncoder(other, kChunk).manifest();
  auto mismatched = spool_->Begin(KeyFor(set), honest, &expected);
  EXPECT_EQ(mismatched.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(mismatched.status().message().find("expected layout has 1"), std::string::npos)
      << mismatched.status();
  // A key whose hash is not the manifest's.
  UploadKey wrong = KeyFor(set);
  wrong.sha256_hex = std::string(64, '0');
  EXPECT_EQ(spool_->Begin(wrong, honest, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_LT(HeapInUse(), heap_before + (1u << 20));  // nothing near the announced sizes
  EXPECT_EQ(spool_->bytes_on_disk(), 0u);
  EXPECT_TRUE(Files().empty());
}

TEST_F(UploadSpoolTest, ASecondConcurrentSessionOfTheSameUploadIsRefused) {
  const TensorSet set = MakeSet();
  const v1::WeightsManifest m = WeightsEncoder(set, kChunk).manifest();
  auto first = spool_->Begin(KeyFor(set), m, nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = spool_->Begin(KeyFor(set), m, nullptr);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(second.status().message().find("another stream of the same upload"), std::string::npos);
  EXPECT_TRUE(spool_->Begin(KeyFor(set, "igr"), m, nullptr).ok());  // another site's
  first->reset();
  EXPECT_TRUE(spool_->Begin(KeyFor(set), m, nullptr).ok());
}

TEST_F(UploadSpoolTest, ForEachTensorReadsOneTensorAtATime) {
  const TensorSet set = MakeSet();
  auto w = spool_->Put(KeyFor(set), set);
  ASSERT_TRUE(w.ok()) << w.status();
  // The callback changes the file under the reader after the first tensor: the next tensors
  // are read afterwards (so they were not held before), and the hash check notices.
  size_t largest = 0;
  std::vector<size_t> order;
  absl::Status s = ForEachTensor(*w, [&](size_t i, protocol::Tensor t) {
    order.push_back(i);
    largest = std::max(largest, t.bytes.size());
    if (i == 0) {
      std::fstream f(w->path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(w->bytes - 1));
      f.put('\x01');
    }
    if (i == 2) {
      EXPECT_EQ(t.bytes.back(), '\x01');
    }
    return absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(largest, 160000u);  // the largest tensor, never the payload (280,400)
  // An error from the callback stops the read.
  int calls = 0;
  s = ForEachTensor(*w, [&](size_t, protocol::Tensor) {
    ++calls;
    return absl::CancelledError("enough");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

TEST_F(UploadSpoolTest, FileNamesAreHashesAndRemoveTaskDropsPartialAndFinished) {
  const TensorSet set = MakeSet();
  UploadKey hostile{"kb", "../../etc/passwd", protocol::WeightsDigestHex(set)};
  ASSERT_TRUE(spool_->Put(hostile, set).ok());
  ASSERT_TRUE(spool_->Put(KeyFor(set, "igr"), set).ok());
  Upload(set, 0, 3).reset();  // kb's partial upload of the same task as igr's
  for (const std::string& f : Files()) {
    EXPECT_EQ(f.find_first_not_of("0123456789abcdef_.partsumnifewgh"), std::string::npos) << f;
  }
  EXPECT_EQ(Files().size(), 2u + 2u + 3u);
  ASSERT_TRUE(spool_->RemoveTask("study/round-1/kb").ok());
  EXPECT_EQ(Files().size(), 2u);  // the other task's
  EXPECT_EQ(spool_->VerifiedChunks(KeyFor(set), kChunk), 0u);
  EXPECT_TRUE(spool_->Find(hostile).ok());
}

}  // namespace
}  // namespace scancov::aggregator
