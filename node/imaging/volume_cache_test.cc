#include "node/imaging/volume_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/file_util.h"
#include "core/sha256.h"
#include "node/imaging/test_util.h"

namespace scancov::node {
namespace {

namespace fs = std::filesystem;

CtSeries TinyVolume() {
  CtSeries s;
  HuVolume& v = s.volume;
  v.nx = 3;
  v.ny = 2;
  v.nz = 2;
  v.spacing = {0.7, 0.7, 2.5};
  v.origin = {-10, -20, -300};
  v.direction = {0, 1, 0, 1, 0, 0, 0, 0, -1};  // not the default placement
  v.voxels = {-1000, -850, 40, 1200, -700, -500, 0, 1, 2, 3, -32768, 32767};
  s.patient_key = std::string(32, 'a');
  s.study_key = std::string(32, 'b');
  s.series_key = "0123456789abcdef0123456789abcdef";
  return s;
}

TEST(VolumeCache, RoundTripAndStaleness) {
  const VolumeCache cache(testing::FreshDir("cache_rt"));
  const CtSeries v = TinyVolume();
  const std::string fp = Sha256Digest("sources-1");
  EXPECT_EQ(cache.Load(v.series_key, fp).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(cache.Store(v, fp).ok());
  auto back = cache.Load(v.series_key, fp);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->volume.voxels, v.volume.voxels);
  EXPECT_EQ(back->volume.spacing, v.volume.spacing);
  EXPECT_EQ(back->volume.origin, v.volume.origin);
  EXPECT_EQ(back->volume.direction, v.volume.direction);
  EXPECT_EQ(back->patient_key, v.patient_key);
  EXPECT_EQ(back->study_key, v.study_key);
  EXPECT_EQ(back->volume.nx, 3);
  EXPECT_EQ(back->volume.ny, 2);
  EXPECT_EQ(back->volume.nz, 2);
  EXPECT_EQ(cache.Load(v.series_key, Sha256Digest("sources-2")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(VolumeCache, DamagedEntryIsDataLoss) {
  const VolumeCache cache(testing::FreshDir("cache_damage"));
  const CtSeries v = TinyVolume();
  const std::string fp = Sha256Digest("sources");
  ASSERT_TRUE(cache.Store(v, fp).ok());
  const std::string path = cache.PathFor(v.series_key);
  auto bytes = ReadFileToString(path);
  ASSERT_TRUE(bytes.ok());
  std::string damaged = *bytes;
  damaged[damaged.size() - 40] ^= 0x01;  // one voxel bit
  ASSERT_TRUE(WriteFileAtomic(path, damaged).ok());
  EXPECT_EQ(cache.Load(v.series_key, fp).status().code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(WriteFileAtomic(path, bytes->substr(0, 100)).ok());
  EXPECT_EQ(cache.Load(v.series_key, fp).status().code(), absl::StatusCode::kDataLoss);
}

TEST(VolumeCache, RejectsUnsafeKeys) {
  const VolumeCache cache(testing::FreshDir("cache_keys"));
  CtSeries v = TinyVolume();
  v.series_key = "../escape";
  EXPECT_FALSE(cache.Store(v, Sha256Digest("x")).ok());
  EXPECT_FALSE(cache.Load("../escape", Sha256Digest("x")).ok());
}

TEST(VolumeCache, ImportHitsAndInvalidates) {
  const std::string root = testing::FreshDir("cache_import");
  const sites::PhantomFiles files = testing::WritePhantom(testing::SmallSpec(61), root);
  const VolumeCache cache(root + "/cache");

  const testing::ImportResult first = testing::RunImport(files.dicom_dir, &cache);
  ASSERT_EQ(first.series.size(), 1u) << first.report.ToText();
  EXPECT_FALSE(first.report.series[0].from_cache);
  EXPECT_TRUE(fs::exists(cache.PathFor(first.series[0].series_key)));

  const testing::ImportResult second = testing::RunImport(files.dicom_dir, &cache);
  ASSERT_EQ(second.series.size(), 1u);
  EXPECT_TRUE(second.report.series[0].from_cache);
  EXPECT_EQ(second.series[0].volume.voxels, first.series[0].volume.voxels);
  EXPECT_EQ(second.series[0].volume.origin, first.series[0].volume.origin);
  EXPECT_EQ(second.series[0].patient_key, first.series[0].patient_key);

  // A source file changes (new modification time): decoded again.
  const std::string touched = files.dicom.files[3];
  fs::last_write_time(touched, fs::last_write_time(touched) + std::chrono::seconds(5));
  const testing::ImportResult third = testing::RunImport(files.dicom_dir, &cache);
  ASSERT_EQ(third.series.size(), 1u);
  EXPECT_FALSE(third.report.series[0].from_cache);
  // ... and cached again.
  EXPECT_TRUE(testing::RunImport(files.dicom_dir, &cache).report.series[0].from_cache);

  // A damaged entry is decoded again, with a note.
  const std::string entry = cache.PathFor(first.series[0].series_key);
  std::fstream f(entry, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(500);
  f.put('\x7f');
  f.close();
  const testing::ImportResult fourth = testing::RunImport(files.dicom_dir, &cache);
  ASSERT_EQ(fourth.series.size(), 1u);
  EXPECT_FALSE(fourth.report.series[0].from_cache);
  EXPECT_NE(testing::FindSeries(fourth.report, "cache entry damaged"), nullptr);
  EXPECT_EQ(fourth.series[0].volume.voxels, first.series[0].volume.voxels);
}

}  // namespace
}  // namespace scancov::node
