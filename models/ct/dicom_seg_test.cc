#include "models/ct/dicom_seg.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "gtest/gtest.h"
#include "models/ct/lung_mask.h"
#include "models/ct/test_phantom.h"
#include "sites/ct/phantom_writer.h"

namespace scancov::ct {
namespace {

std::string TempDir(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp/") + name;
}

// The primary series' files sorted along z (the phantom's slice order).
std::vector<std::string> FilesInSliceOrder(const std::vector<std::string>& files) {
  std::vector<std::pair<double, std::string>> keyed;
  for (const std::string& f : files) {
    DcmFileFormat ff;
    EXPECT_TRUE(ff.loadFile(f.c_str()).good()) << f;
    Float64 z = 0;
    ff.getDataset()->findAndGetFloat64(DCM_ImagePositionPatient, z, 2);
    keyed.emplace_back(z, f);
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::string> out;
  for (auto& [z, f] : keyed) out.push_back(f);
  return out;
}

TEST(DicomSeg, WrittenAndReadBack) {
  sites::PhantomSpec spec = testing::SmallSpec(31, 0.3, 0.5, 0.3, 0.2);
  spec.scanner.number_of_slices = 16;
  const std::string dir = TempDir("seg_phantom");
  absl::StatusOr<sites::PhantomFiles> files = sites::WritePhantomSeries(spec, dir);
  ASSERT_TRUE(files.ok()) << files.status();
  const std::vector<std::string> ordered = FilesInSliceOrder(files->dicom.files);
  ASSERT_EQ(ordered.size(), 16u);
  absl::StatusOr<SegSource> source = ReadSegSource(ordered);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ(source->frame_of_reference_uid, files->dicom.frame_of_reference_uid);
  EXPECT_EQ(source->study_instance_uid, files->dicom.study_uid);

  testing::PhantomVolumes p = testing::MakePhantom(spec);
  absl::StatusOr<LungMaskResult> lungs = ComputeLungMask(p.hu);
  ASSERT_TRUE(lungs.ok()) << lungs.status();
  const std::string path = TempDir("lungs_lesions.seg.dcm");
  ASSERT_TRUE(WriteDicomSeg(path, *source, lungs->labels, p.lesions).ok());

  absl::StatusOr<LoadedSeg> seg = ReadDicomSeg(path, *source);
  ASSERT_TRUE(seg.ok()) << seg.status();
  EXPECT_EQ(seg->referenced_series_uid, source->series_instance_uid);
  EXPECT_EQ(seg->frame_of_reference_uid, source->frame_of_reference_uid);
  EXPECT_EQ(seg->study_instance_uid, source->study_instance_uid);
  ASSERT_EQ(seg->segments.size(), 5u);
  const std::vector<SegSegment> specs = SegSegments();
  for (size_t s = 0; s < specs.size(); ++s) {
    const LoadedSegment& loaded = seg->segments[s];
    EXPECT_EQ(loaded.label, specs[s].label);
    EXPECT_EQ(loaded.type_code, specs[s].type[0]);
    int64_t voxels = 0;
    for (size_t v = 0; v < loaded.mask.voxels.size(); ++v) {
      const bool want = specs[s].lung_value ? lungs->labels.voxels[v] == specs[s].lung_value
                                            : p.lesions.voxels[v] == specs[s].lesion_value &&
                                                  lungs->labels.voxels[v] != 0;
      ASSERT_EQ(loaded.mask.voxels[v], want ? 1 : 0) << loaded.label << " voxel " << v;
      voxels += want;
    }
    EXPECT_GT(voxels, 0) << loaded.label;
  }
  // The file is a Segmentation Storage object that references a source image per frame.
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile(path.c_str()).good());
  OFString sop_class, modality;
  ff.getDataset()->findAndGetOFString(DCM_SOPClassUID, sop_class);
  ff.getDataset()->findAndGetOFString(DCM_Modality, modality);
  EXPECT_EQ(std::string(sop_class.c_str()), "1.2.840.10008.5.1.4.1.1.66.4");
  EXPECT_EQ(std::string(modality.c_str()), "SEG");
}

TEST(DicomSeg, RefusesMismatchedInput) {
  SegSource source;
  source.rows = source.columns = 4;
  source.slices.resize(2);
  LabelVolume small(4, 4, 3, {1, 1, 1});
  EXPECT_FALSE(WriteDicomSeg(TempDir("x.dcm"), source, small, small).ok());
  EXPECT_FALSE(ReadSegSource({}).ok());
  EXPECT_FALSE(ReadSegSource({TempDir("missing.dcm")}).ok());
}

}  // namespace
}  // namespace scancov::ct
