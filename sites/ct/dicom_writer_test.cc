// Generated DICOM read back by DCMTK with the intended geometry and HU.
#include "sites/ct/dicom_writer.h"

#include <gtest/gtest.h>

// clang-format off
#include <dcmtk/config/osconfig.h>
// clang-format on
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "sites/ct/phantom_writer.h"

namespace scancov::sites {
namespace {

struct ReadImage {
  std::string sop_class, modality, image_type, series_uid, study_uid, patient_id, xfer;
  double position[3] = {0, 0, 0};
  double orientation[6] = {0, 0, 0, 0, 0, 0};
  double spacing[2] = {0, 0};
  double slope = 0, intercept = 0, thickness = 0;
  int rows = 0, columns = 0, pixel_representation = -1;
  std::vector<int> hu;
};

ReadImage Read(const std::string& path) {
  static const bool registered = [] {
    DcmRLEDecoderRegistration::registerCodecs();
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    return true;
  }();
  (void)registered;
  ReadImage r;
  DcmFileFormat file;
  EXPECT_TRUE(file.loadFile(path.c_str()).good()) << path;
  r.xfer = DcmXfer(file.getDataset()->getOriginalXfer()).getXferID();
  DcmDataset* ds = file.getDataset();
  EXPECT_TRUE(ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr).good());
  OFString s;
  auto str = [&](const DcmTagKey& tag) {
    s.clear();
    ds->findAndGetOFStringArray(tag, s);
    return std::string(s.c_str());
  };
  r.sop_class = str(DCM_SOPClassUID);
  r.modality = str(DCM_Modality);
  r.image_type = str(DCM_ImageType);
  r.series_uid = str(DCM_SeriesInstanceUID);
  r.study_uid = str(DCM_StudyInstanceUID);
  r.patient_id = str(DCM_PatientID);
  for (int i = 0; i < 3; ++i) ds->findAndGetFloat64(DCM_ImagePositionPatient, r.position[i], i);
  for (int i = 0; i < 6; ++i)
    ds->findAndGetFloat64(DCM_ImageOrientationPatient, r.orientation[i], i);
  for (int i = 0; i < 2; ++i) ds->findAndGetFloat64(DCM_PixelSpacing, r.spacing[i], i);
  ds->findAndGetFloat64(DCM_RescaleSlope, r.slope);
  ds->findAndGetFloat64(DCM_RescaleIntercept, r.intercept);
  ds->findAndGetFloat64(DCM_SliceThickness, r.thickness);
  Uint16 v = 0;
  ds->findAndGetUint16(DCM_Rows, v);
  r.rows = v;
  ds->findAndGetUint16(DCM_Columns, v);
  r.columns = v;
  ds->findAndGetUint16(DCM_PixelRepresentation, v);
  r.pixel_representation = v;
  const Uint16* pixels = nullptr;
  unsigned long count = 0;
  EXPECT_TRUE(ds->findAndGetUint16Array(DCM_PixelData, pixels, &count).good());
  for (unsigned long i = 0; i < count; ++i) {
    const int stored = r.pixel_representation ? static_cast<int16_t>(pixels[i]) : pixels[i];
    r.hu.push_back(static_cast<int>(std::lround(stored * r.slope + r.intercept)));
  }
  return r;
}

PhantomSpec Spec(DicomEncoding encoding = DicomEncoding::kExplicitLittle) {
  PhantomSpec spec;
  spec.seed = 11;
  spec.patient.patient_id = "KB-000042";
  spec.disease.extent_right = 0.2;
  spec.disease.extent_left = 0.1;
  spec.scanner = SmallScanner();
  spec.scanner.rows = spec.scanner.columns = 96;
  spec.scanner.pixel_spacing_mm = 4.0;
  spec.scanner.number_of_slices = 12;
  spec.scanner.encoding = encoding;
  return spec;
}

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/ct_writer_" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(DicomWriter, PrimarySeriesHasIntendedGeometryAndHu) {
  const PhantomSpec spec = Spec();
  auto volume = GeneratePhantomVolume(spec);
  ASSERT_TRUE(volume.ok());
  const std::string dir = FreshDir("primary");
  auto written = WritePhantomDicom(spec, *volume, dir);
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_EQ(written->files.size(), 12u);
  const PhantomGrid& g = volume->grid;
  std::vector<double> z_in_write_order;
  std::map<int, ReadImage> by_slice;
  for (const std::string& path : written->files) {
    ReadImage r = Read(path);
    EXPECT_EQ(r.sop_class, UID_CTImageStorage);
    EXPECT_EQ(r.modality, "CT");
    EXPECT_EQ(r.image_type, "ORIGINAL\\PRIMARY\\AXIAL");
    EXPECT_EQ(r.patient_id, "KB-000042");
    EXPECT_EQ(r.study_uid, written->study_uid);
    EXPECT_EQ(r.series_uid, written->series[0].series_uid);
    EXPECT_EQ(r.rows, 96);
    EXPECT_EQ(r.pixel_representation, 0);
    EXPECT_DOUBLE_EQ(r.spacing[0], 4.0);
    EXPECT_DOUBLE_EQ(r.slope, 1.0);
    EXPECT_DOUBLE_EQ(r.intercept, -1024.0);
    EXPECT_DOUBLE_EQ(r.thickness, 5.0);
    EXPECT_DOUBLE_EQ(r.orientation[0], 1.0);
    EXPECT_DOUBLE_EQ(r.orientation[4], 1.0);
    EXPECT_NEAR(r.position[0], g.origin[0], 1e-6);
    const double k = (r.position[2] - g.origin[2]) / g.dz;
    ASSERT_NEAR(k, std::round(k), 1e-6);
    z_in_write_order.push_back(r.position[2]);
    by_slice[static_cast<int>(std::lround(k))] = std::move(r);
  }
  ASSERT_EQ(by_slice.size(), 12u);  // every slice exactly once
  EXPECT_FALSE(std::is_sorted(z_in_write_order.begin(), z_in_write_order.end()));
  const size_t plane = static_cast<size_t>(g.nx) * g.ny;
  for (const auto& [k, r] : by_slice) {
    ASSERT_EQ(r.hu.size(), plane);
    for (size_t p = 0; p < plane; ++p) {
      ASSERT_EQ(r.hu[p], volume->hu[k * plane + p]) << "slice " << k << " pixel " << p;
    }
  }
}

TEST(DicomWriter, UidsAreValidAndDeterministic) {
  const std::string a = DeterministicUid(1, "study");
  EXPECT_EQ(a, DeterministicUid(1, "study"));
  EXPECT_NE(a, DeterministicUid(2, "study"));
  EXPECT_NE(a, DeterministicUid(1, "series"));
  EXPECT_LE(a.size(), 64u);
  EXPECT_EQ(a.rfind("2.25.", 0), 0u);
  EXPECT_EQ(a.find_first_not_of("0123456789."), std::string::npos);
}

class EncodingTest : public ::testing::TestWithParam<DicomEncoding> {};

TEST_P(EncodingTest, CompressedSeriesDecodesToTheSameHu) {
  const PhantomSpec spec = Spec(GetParam());
  auto volume = GeneratePhantomVolume(spec);
  ASSERT_TRUE(volume.ok());
  auto written = WritePhantomDicom(spec, *volume, FreshDir("enc"));
  ASSERT_TRUE(written.ok()) << written.status();
  const size_t plane = static_cast<size_t>(volume->grid.nx) * volume->grid.ny;
  for (const std::string& path : written->files) {
    const ReadImage r = Read(path);
    EXPECT_EQ(r.xfer, TransferSyntaxUid(GetParam()));
    const int k =
        static_cast<int>(std::lround((r.position[2] - volume->grid.origin[2]) / volume->grid.dz));
    ASSERT_EQ(r.hu.size(), plane);
    for (size_t p = 0; p < plane; ++p) ASSERT_EQ(r.hu[p], volume->hu[k * plane + p]);
  }
}

INSTANTIATE_TEST_SUITE_P(Lossless, EncodingTest,
                         ::testing::Values(DicomEncoding::kImplicitLittle, DicomEncoding::kRle,
                                           DicomEncoding::kJpegLossless,
                                           DicomEncoding::kJpegLsLossless));

TEST(DicomWriter, SignedStorageWhenInterceptIsZero) {
  PhantomSpec spec = Spec();
  spec.scanner.rescale_intercept = 0;
  spec.scanner.number_of_slices = 4;
  auto volume = GeneratePhantomVolume(spec);
  ASSERT_TRUE(volume.ok());
  auto written = WritePhantomDicom(spec, *volume, FreshDir("signed"));
  ASSERT_TRUE(written.ok());
  const ReadImage r = Read(written->files[0]);
  EXPECT_EQ(r.pixel_representation, 1);
  EXPECT_EQ(*std::min_element(r.hu.begin(), r.hu.end()) < -900, true);
}

TEST(DicomWriter, LocalizerAndSecondSeriesAndTruth) {
  PhantomSpec spec = Spec();
  spec.scanner.add_localizer = true;
  spec.scanner.add_second_series = true;
  const std::string dir = FreshDir("full_exam");
  auto files = WritePhantomSeries(spec, dir);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->dicom.series.size(), 3u);
  EXPECT_EQ(files->dicom.files.size(), 12u + 1u + 6u);
  int localizers = 0, thick = 0;
  for (const std::string& path : files->dicom.files) {
    const ReadImage r = Read(path);
    EXPECT_EQ(r.study_uid, files->dicom.study_uid);
    if (r.image_type == "ORIGINAL\\PRIMARY\\LOCALIZER") {
      ++localizers;
      EXPECT_DOUBLE_EQ(r.orientation[5], -1.0);  // coronal, rows head to feet
      EXPECT_EQ(r.rows, 12);
    } else if (r.series_uid == files->dicom.series[2].series_uid) {
      ++thick;
      EXPECT_DOUBLE_EQ(r.thickness, 10.0);
    }
  }
  EXPECT_EQ(localizers, 1);
  EXPECT_EQ(thick, 6);
  auto text = ReadFileToString(files->truth_json_path);
  ASSERT_TRUE(text.ok());
  const nlohmann::json truth = nlohmann::json::parse(*text);
  EXPECT_EQ(truth["format"], "scancov-phantom-truth-v1");
  EXPECT_EQ(truth["lungs"]["right"]["lung_voxels"], files->truth.right.lung_voxels);
  EXPECT_NEAR(truth["lungs"]["right"]["extent"].get<double>(), 0.2, 0.001);
  EXPECT_EQ(truth["labels_series_instance_uid"], files->dicom.series[0].series_uid);
  EXPECT_TRUE(std::filesystem::exists(files->lung_labels_path));
  EXPECT_TRUE(std::filesystem::exists(files->lesion_labels_path));
}

}  // namespace
}  // namespace scancov::sites
