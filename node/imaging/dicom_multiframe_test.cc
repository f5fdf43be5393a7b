// Multi-frame (Enhanced) CT: a phantom series rewritten as one Enhanced CT Image Storage object,
// its frames stored out of order, with the geometry in the functional groups as scanners write
// it (per-frame Plane Position, shared Plane Orientation, Pixel Measures and Pixel Value
// Transformation). Imported, it gives the same volume as the single-frame series, voxel for voxel.
#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/imaging/dicom_slice.h"
#include "node/imaging/test_util.h"

namespace scancov::node {
namespace {

namespace fs = std::filesystem;
using testing::FilesByPosition;
using testing::FreshDir;
using ::testing::HasSubstr;
using testing::ImportResult;
using testing::RunImport;
using testing::SmallSpec;
using testing::WritePhantom;

constexpr char kEnhancedCt[] = "1.2.840.10008.5.1.4.1.1.2.1";

std::string Get(DcmItem& item, const DcmTagKey& tag) {
  OFString v;
  item.findAndGetOFStringArray(tag, v);
  return v.c_str();
}

// A new item of `sequence` in `parent` holding the attributes `fill` puts in it.
void AddMacro(DcmItem& parent, const DcmTagKey& sequence,
              const std::function<void(DcmItem&)>& fill) {
  DcmItem* item = nullptr;
  ASSERT_TRUE(parent.findOrCreateSequenceItem(sequence, item, -2).good());
  fill(*item);
}

struct Options {
  std::vector<int> order;  // which sorted slice each frame holds
  int drop_position_of_frame = -1;
};

// Writes the slices `sorted` (single-frame, native) as one Enhanced CT object at `out`.
void WriteEnhanced(const std::vector<std::string>& sorted, const std::string& out,
                   const Options& o) {
  DcmFileFormat first;
  ASSERT_TRUE(first.loadFile(sorted.front().c_str()).good());
  DcmDataset& ds = *first.getDataset();
  const std::string orientation = Get(ds, DCM_ImageOrientationPatient);
  const std::string spacing = Get(ds, DCM_PixelSpacing);
  const std::string thickness = Get(ds, DCM_SliceThickness);
  const std::string slope = Get(ds, DCM_RescaleSlope);
  const std::string intercept = Get(ds, DCM_RescaleIntercept);
  for (const DcmTagKey& tag :
       {DCM_ImagePositionPatient, DCM_ImageOrientationPatient, DCM_PixelSpacing, DCM_SliceThickness,
        DCM_RescaleSlope, DCM_RescaleIntercept, DCM_InstanceNumber, DCM_SliceLocation}) {
    delete ds.remove(tag);
  }
  char uid[100];
  ds.putAndInsertString(DCM_SOPClassUID, kEnhancedCt);
  ds.putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid));
  first.getMetaInfo()->putAndInsertString(DCM_MediaStorageSOPClassUID, kEnhancedCt);
  first.getMetaInfo()->putAndInsertString(DCM_MediaStorageSOPInstanceUID, uid);
  ds.putAndInsertString(DCM_NumberOfFrames, std::to_string(o.order.size()).c_str());
  AddMacro(ds, DCM_SharedFunctionalGroupsSequence, [&](DcmItem& shared) {
    AddMacro(shared, DCM_PlaneOrientationSequence, [&](DcmItem& m) {
      m.putAndInsertString(DCM_ImageOrientationPatient, orientation.c_str());
    });
    AddMacro(shared, DCM_PixelMeasuresSequence, [&](DcmItem& m) {
      m.putAndInsertString(DCM_PixelSpacing, spacing.c_str());
      m.putAndInsertString(DCM_SliceThickness, thickness.c_str());
    });
    AddMacro(shared, DCM_PixelValueTransformationSequence, [&](DcmItem& m) {
      m.putAndInsertString(DCM_RescaleSlope, slope.c_str());
      m.putAndInsertString(DCM_RescaleIntercept, intercept.c_str());
      m.putAndInsertString(DCM_RescaleType, "HU");
    });
  });
  std::vector<Uint16> pixels;
  for (size_t f = 0; f < o.order.size(); ++f) {
    DcmFileFormat slice;
    ASSERT_TRUE(slice.loadFile(sorted[o.order[f]].c_str()).good());
    DcmDataset& s = *slice.getDataset();
    const std::string position = Get(s, DCM_ImagePositionPatient);
    AddMacro(ds, DCM_PerFrameFunctionalGroupsSequence, [&](DcmItem& frame) {
      if (static_cast<int>(f) == o.drop_position_of_frame) {
        AddMacro(frame, DCM_FrameContentSequence,
                 [&](DcmItem& m) { m.putAndInsertUint32(DCM_InStackPositionNumber, f + 1); });
        return;
      }
      AddMacro(frame, DCM_PlanePositionSequence, [&](DcmItem& m) {
        m.putAndInsertString(DCM_ImagePositionPatient, position.c_str());
      });
    });
    const Uint16* data = nullptr;
    unsigned long count = 0;
    ASSERT_TRUE(s.findAndGetUint16Array(DCM_PixelData, data, &count).good());
    pixels.insert(pixels.end(), data, data + count);
  }
  ASSERT_TRUE(ds.putAndInsertUint16Array(DCM_PixelData, pixels.data(), pixels.size()).good());
  ASSERT_TRUE(first.saveFile(out.c_str(), EXS_LittleEndianExplicit).good());
}

const CtSeries* SeriesWithSlices(const ImportResult& r, int nz) {
  for (const CtSeries& s : r.series) {
    if (s.volume.nz == nz) return &s;
  }
  return nullptr;
}

TEST(DicomMultiFrame, AnEnhancedCtObjectImportsAsTheSameVolumeAsItsSingleFrameSeries) {
  const sites::PhantomFiles files = WritePhantom(SmallSpec(71), FreshDir("mf_single"));
  const std::vector<std::string> sorted = FilesByPosition(files);
  const int n = static_cast<int>(sorted.size());
  ASSERT_GE(n, 8);
  Options o;
  for (int k = 0; k < n; ++k) o.order.push_back(k);
  std::reverse(o.order.begin(), o.order.end());  // frames stored from head to feet
  std::swap(o.order[1], o.order[n - 2]);         // and not even in order
  const std::string dir = FreshDir("mf_enhanced");
  WriteEnhanced(sorted, dir + "/enhanced.dcm", o);

  const ImportResult single = RunImport(files.dicom_dir);
  const ImportResult enhanced = RunImport(dir);
  const CtSeries* a = SeriesWithSlices(single, n);
  ASSERT_NE(a, nullptr) << single.report.ToText();
  ASSERT_EQ(enhanced.series.size(), 1u) << enhanced.report.ToText();
  const CtSeries& b = enhanced.series[0];
  EXPECT_EQ(b.volume.nx, a->volume.nx);
  EXPECT_EQ(b.volume.ny, a->volume.ny);
  ASSERT_EQ(b.volume.nz, n);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(b.volume.spacing[i], a->volume.spacing[i], 1e-9) << i;
    EXPECT_NEAR(b.volume.origin[i], a->volume.origin[i], 1e-9) << i;
  }
  EXPECT_EQ(b.volume.direction, a->volume.direction);
  EXPECT_TRUE(b.volume.voxels == a->volume.voxels) << "the HU differ";
  // One file, n slices; the same patient.
  ASSERT_EQ(enhanced.report.series.size(), 1u);
  EXPECT_EQ(enhanced.report.series[0].files, 1);
  EXPECT_EQ(enhanced.report.series[0].slices, n);
  EXPECT_EQ(b.patient_key, a->patient_key);
}

TEST(DicomMultiFrame, AFrameWithoutAPositionRefusesTheFileAndSaysWhichFrame) {
  const sites::PhantomFiles files = WritePhantom(SmallSpec(72), FreshDir("mf_nopos_single"));
  const std::vector<std::string> sorted = FilesByPosition(files);
  Options o;
  for (int k = 0; k < static_cast<int>(sorted.size()); ++k) o.order.push_back(k);
  o.drop_position_of_frame = 2;
  const std::string dir = FreshDir("mf_nopos");
  WriteEnhanced(sorted, dir + "/enhanced.dcm", o);
  const ImportResult r = RunImport(dir);
  EXPECT_TRUE(r.series.empty());
  ASSERT_EQ(r.report.skipped_files.size(), 1u) << r.report.ToText();
  EXPECT_THAT(r.report.skipped_files[0].reason,
              HasSubstr(absl::StrCat("frame 3 of ", sorted.size(),
                                     ": no Image Position (Patient) in its Plane Position")));
}

TEST(DicomMultiFrame, FramesOfOneObjectAtOnePositionAreRefusedNotDroppedAsRepeats) {
  const sites::PhantomFiles files = WritePhantom(SmallSpec(73), FreshDir("mf_dup_single"));
  const std::vector<std::string> sorted = FilesByPosition(files);
  Options o;
  for (int k = 0; k < static_cast<int>(sorted.size()); ++k) o.order.push_back(k);
  o.order[3] = o.order[2];  // two frames at one position (e.g. two phases): not one volume
  const std::string dir = FreshDir("mf_dup");
  WriteEnhanced(sorted, dir + "/enhanced.dcm", o);
  const ImportResult r = RunImport(dir);
  EXPECT_TRUE(r.series.empty());
  ASSERT_EQ(r.report.series.size(), 1u) << r.report.ToText();
  EXPECT_THAT(r.report.series[0].reason, HasSubstr("duplicate slice"));
  EXPECT_THAT(r.report.series[0].reason, HasSubstr("enhanced.dcm frame 3"));
}

}  // namespace
}  // namespace scancov::node
