#include "sites/ct/nifti_io.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/file_util.h"

namespace scancov::sites {
namespace {

PhantomGrid SmallGrid() {
  PhantomGrid g;
  g.nx = 7;
  g.ny = 5;
  g.nz = 3;
  g.dx = 0.8;
  g.dy = 0.8;
  g.dz = 2.5;
  g.origin = {-2.4, -1.6, -100.0};
  return g;
}

class NiftiIoTest : public ::testing::TestWithParam<const char*> {};

TEST_P(NiftiIoTest, LabelsRoundTripWithRasAffine) {
  const PhantomGrid g = SmallGrid();
  std::vector<uint8_t> labels(g.size());
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<uint8_t>(i % 5);
  const std::string path = ::testing::TempDir() + "/labels" + GetParam();
  ASSERT_TRUE(WriteNiftiLabels(path, g, labels, "test").ok());
  auto v = ReadNifti(path);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->nx, 7);
  EXPECT_EQ(v->ny, 5);
  EXPECT_EQ(v->nz, 3);
  EXPECT_EQ(v->datatype, 2);
  EXPECT_EQ(v->u8, labels);
  EXPECT_FLOAT_EQ(v->spacing[2], 2.5f);
  // RAS = diag(-1, -1, 1) x LPS.
  EXPECT_FLOAT_EQ(v->srow[0][0], -0.8f);
  EXPECT_FLOAT_EQ(v->srow[0][3], 2.4f);
  EXPECT_FLOAT_EQ(v->srow[1][1], -0.8f);
  EXPECT_FLOAT_EQ(v->srow[1][3], 1.6f);
  EXPECT_FLOAT_EQ(v->srow[2][2], 2.5f);
  EXPECT_FLOAT_EQ(v->srow[2][3], -100.0f);
}

INSTANTIATE_TEST_SUITE_P(PlainAndGzip, NiftiIoTest, ::testing::Values(".nii", ".nii.gz"));

TEST(NiftiIo, Int16RoundTrip) {
  const PhantomGrid g = SmallGrid();
  std::vector<int16_t> hu(g.size());
  for (size_t i = 0; i < hu.size(); ++i) hu[i] = static_cast<int16_t>(-1024 + 37 * i);
  const std::string path = ::testing::TempDir() + "/hu.nii.gz";
  ASSERT_TRUE(WriteNiftiInt16(path, g, hu, "hu").ok());
  auto v = ReadNifti(path);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->datatype, 4);
  EXPECT_EQ(v->i16, hu);
}

TEST(NiftiIo, PlainFileHasTheStandardLayout) {
  const PhantomGrid g = SmallGrid();
  const std::string path = ::testing::TempDir() + "/layout.nii";
  ASSERT_TRUE(WriteNiftiLabels(path, g, std::vector<uint8_t>(g.size(), 1), "x").ok());
  auto bytes = ReadFileToString(path);
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(bytes->size(), 352 + g.size());
  EXPECT_EQ(bytes->substr(344, 4), std::string("n+1\0", 4));
  EXPECT_EQ((*bytes)[352], 1);
}

TEST(NiftiIo, RejectsMismatchAndTruncation) {
  const PhantomGrid g = SmallGrid();
  const std::string path = ::testing::TempDir() + "/short.nii";
  EXPECT_FALSE(WriteNiftiLabels(path, g, std::vector<uint8_t>(3), "x").ok());
  ASSERT_TRUE(WriteNiftiLabels(path, g, std::vector<uint8_t>(g.size(), 1), "x").ok());
  auto bytes = ReadFileToString(path);
  ASSERT_TRUE(bytes.ok());
  ASSERT_TRUE(WriteFileAtomic(path, bytes->substr(0, 360)).ok());
  EXPECT_EQ(ReadNifti(path).status().code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(WriteFileAtomic(path, "not a nifti file").ok());
  EXPECT_FALSE(ReadNifti(path).ok());
  EXPECT_EQ(ReadNifti(path + ".missing").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace scancov::sites
