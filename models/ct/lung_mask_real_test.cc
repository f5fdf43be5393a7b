// The model-free lung mask on real CT (../shared/data, see its README; tests run from the
// repository root and skip when the data is absent).
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/ct/lung_mask.h"
#include "node/imaging/dicom_importer.h"
#include "privacy/pseudonymizer.h"

namespace scancov::ct {
namespace {

const std::string kData = "../shared/data/";

// The public lungmask tool (JoHof/lungmask, R231) finds 64,752 right-lung and 36,536 left-lung
// voxels over the two slices (the data README).
constexpr double kLungmaskRight = 64752, kLungmaskLeft = 36536;

TEST(LungMaskReal, LungmaskSlicesAgreeWithTheReferenceCounts) {
  if (!std::filesystem::exists(kData + "lungmask_ct_slices")) GTEST_SKIP() << "no shared data";
  const privacy::Pseudonymizer pseudonymizer =
      privacy::Pseudonymizer::FromSecret("models-ct-test-secret-0123456789abcdef");
  node::DicomImporter importer(pseudonymizer);
  std::vector<HuVolume> volumes;
  absl::StatusOr<node::ImportReport> report =
      importer.Import(kData + "lungmask_ct_slices", [&](node::CtSeries&& s, const auto&) {
        volumes.push_back(std::move(s.volume));
        return absl::OkStatus();
      });
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(volumes.size(), 1u);
  const HuVolume& hu = volumes[0];
  LungMaskOptions o;
  o.left_at_high_column = hu.direction[0] > 0;  // row direction towards the patient's left
  absl::StatusOr<LungMaskResult> r = ComputeLungMask(hu, o);
  ASSERT_TRUE(r.ok()) << r.status();
  const double dr = (r->right_voxels - kLungmaskRight) / kLungmaskRight;
  const double dl = (r->left_voxels - kLungmaskLeft) / kLungmaskLeft;
  std::printf(
      "lungmask slices: right %lld (reference 64752, %+.2f%%), left %lld (reference "
      "36536, %+.2f%%), airways %d\n",
      static_cast<long long>(r->right_voxels), 100 * dr, static_cast<long long>(r->left_voxels),
      100 * dl, r->airways_found);
  for (const std::string& n : r->notes) std::printf("  note: %s\n", n.c_str());
  // 5%: the reference is a U-Net's mask, whose border sits within about one pixel of ours on
  // a healthy pleura; one pixel around a lung of these sizes is 2-3% of its area.
  EXPECT_LT(std::abs(dr), 0.05);
  EXPECT_LT(std::abs(dl), 0.05);
}

// A gzip'ed NIfTI-1 file of int32 or uint8 voxels (the TotalSegmentator sample's types).
struct Nifti {
  int nx = 0, ny = 0, nz = 0;
  std::array<double, 3> spacing{};
  std::vector<int32_t> values;
};

bool ReadNiftiGz(const std::string& path, Nifti& out) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return false;
  std::string bytes;
  char buf[1 << 16];
  int n = 0;
  while ((n = gzread(f, buf, sizeof(buf))) > 0) bytes.append(buf, n);
  gzclose(f);
  if (bytes.size() < 352) return false;
  int16_t dim[8], datatype;
  float pixdim[8], vox_offset;
  std::memcpy(dim, bytes.data() + 40, sizeof(dim));
  std::memcpy(&datatype, bytes.data() + 70, 2);
  std::memcpy(pixdim, bytes.data() + 76, sizeof(pixdim));
  std::memcpy(&vox_offset, bytes.data() + 108, 4);
  out.nx = dim[1];
  out.ny = dim[2];
  out.nz = dim[3];
  out.spacing = {pixdim[1], pixdim[2], pixdim[3]};
  const size_t count = static_cast<size_t>(out.nx) * out.ny * out.nz;
  const size_t size = datatype == 8 ? 4 : datatype == 2 ? 1 : 0;
  const size_t offset = static_cast<size_t>(vox_offset);
  if (size == 0 || bytes.size() < offset + count * size) return false;
  out.values.resize(count);
  for (size_t v = 0; v < count; ++v) {
    if (size == 4) {
      std::memcpy(&out.values[v], bytes.data() + offset + 4 * v, 4);
    } else {
      out.values[v] = static_cast<uint8_t>(bytes[offset + v]);
    }
  }
  return true;
}

TEST(LungMaskReal, TotalSegmentatorLungBases) {
  const std::string dir = kData + "totalsegmentator_ct/";
  if (!std::filesystem::exists(dir + "example_ct.nii.gz")) GTEST_SKIP() << "no shared data";
  Nifti ct, seg;
  ASSERT_TRUE(ReadNiftiGz(dir + "example_ct.nii.gz", ct));
  ASSERT_TRUE(ReadNiftiGz(dir + "example_seg.nii.gz", seg));
  ASSERT_EQ(ct.nx, seg.nx);
  ASSERT_EQ(ct.ny, seg.ny);
  ASSERT_LE(seg.nz, ct.nz);
  HuVolume hu(ct.nx, ct.ny, ct.nz, ct.spacing);
  for (size_t v = 0; v < hu.voxels.size(); ++v) {
    hu.voxels[v] = static_cast<int16_t>(std::clamp(ct.values[v], -32768, 32767));
  }
  LungMaskOptions o;
  o.left_at_high_column = false;  // RAS-ordered array: column index grows to the patient's right
  absl::StatusOr<LungMaskResult> r = ComputeLungMask(hu, o);
  ASSERT_TRUE(r.ok()) << r.status();
  // The label map has 30 slices and the same header affine as the 112-slice CT, but its lungs
  // lie over air only when placed on the CT's top 30 slices (mean HU under the lobes: about
  // -740 there, about -80 at slice 0), so it was cropped from the top: use that alignment, and
  // check it.
  const int shift = ct.nz - seg.nz;
  double hu_sum = 0;
  int64_t hu_n = 0;
  for (size_t v = 0; v < seg.values.size(); ++v) {
    if (seg.values[v] >= 10 && seg.values[v] <= 14) {
      hu_sum += hu.voxels[v + static_cast<size_t>(shift) * hu.nx * hu.ny];
      ++hu_n;
    }
  }
  ASSERT_GT(hu_n, 0);
  ASSERT_LT(hu_sum / hu_n, -500) << "label map not aligned with the CT";
  for (const std::string& n : r->notes) std::printf("  note: %s\n", n.c_str());
  // TotalSegmentator: 10, 11 left upper/lower lobe; 12, 13, 14 right upper/middle/lower lobe.
  int64_t both[3] = {0, 0, 0}, ours[3] = {0, 0, 0}, ref[3] = {0, 0, 0};
  for (size_t v = 0; v < seg.values.size(); ++v) {
    const int s = seg.values[v];
    const int truth = s == 10 || s == 11 ? 2 : (s >= 12 && s <= 14 ? 1 : 0);
    const int mine = r->labels.voxels[v + static_cast<size_t>(shift) * hu.nx * hu.ny];
    for (int side : {1, 2}) {
      ours[side] += mine == side;
      ref[side] += truth == side;
      both[side] += mine == side && truth == side;
    }
    ours[0] += mine != 0;
    ref[0] += truth != 0;
    both[0] += mine != 0 && truth != 0;
  }
  auto dice = [&](int i) { return 2.0 * both[i] / std::max<int64_t>(1, ours[i] + ref[i]); };
  std::printf(
      "TotalSegmentator bases: Dice lungs %.4f right %.4f left %.4f (reference %lld / "
      "%lld voxels, ours %lld / %lld)\n",
      dice(0), dice(1), dice(2), static_cast<long long>(ref[1]), static_cast<long long>(ref[2]),
      static_cast<long long>(ours[1]), static_cast<long long>(ours[2]));
  EXPECT_GT(dice(0), 0.90);
  EXPECT_GT(dice(1), 0.85);
  EXPECT_GT(dice(2), 0.85);
}

}  // namespace
}  // namespace scancov::ct
