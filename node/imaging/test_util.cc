#include "node/imaging/test_util.h"

#include <gtest/gtest.h>

// clang-format off
#include <dcmtk/config/osconfig.h>
// clang-format on
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include <algorithm>
#include <filesystem>

namespace scancov::node::testing {

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/imaging_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

sites::PhantomSpec SmallSpec(uint64_t seed, const std::string& patient_id) {
  sites::PhantomSpec spec;
  spec.seed = seed;
  spec.patient.patient_id = patient_id;
  spec.disease.extent_right = 0.25;
  spec.disease.extent_left = 0.15;
  spec.disease.ggo_fraction = 0.5;
  spec.disease.crazy_paving_fraction = 0.25;
  spec.disease.consolidation_fraction = 0.25;
  spec.scanner = sites::SmallScanner();
  spec.scanner.rows = spec.scanner.columns = 96;
  spec.scanner.pixel_spacing_mm = 4.0;
  spec.scanner.number_of_slices = 12;
  return spec;
}

sites::PhantomFiles WritePhantom(const sites::PhantomSpec& spec, const std::string& out_dir) {
  auto files = sites::WritePhantomSeries(spec, out_dir);
  EXPECT_TRUE(files.ok()) << files.status();
  return files.ok() ? *std::move(files) : sites::PhantomFiles{};
}

std::vector<std::string> FilesByPosition(const sites::PhantomFiles& files) {
  std::vector<std::pair<double, std::string>> placed;
  for (const std::string& path : files.dicom.files) {
    DcmFileFormat f;
    EXPECT_TRUE(f.loadFile(path.c_str()).good());
    OFString series;
    f.getDataset()->findAndGetOFString(DCM_SeriesInstanceUID, series);
    if (files.dicom.series.empty() || series.c_str() != files.dicom.series[0].series_uid) continue;
    Float64 z = 0;
    f.getDataset()->findAndGetFloat64(DCM_ImagePositionPatient, z, 2);
    placed.emplace_back(z, path);
  }
  std::sort(placed.begin(), placed.end());
  std::vector<std::string> out;
  for (auto& p : placed) out.push_back(p.second);
  return out;
}

void EditDicom(const std::string& path, const std::function<void(DcmDataset&)>& edit) {
  DcmFileFormat f;
  ASSERT_TRUE(f.loadFile(path.c_str()).good()) << path;
  f.loadAllDataIntoMemory();
  const E_TransferSyntax xfer = f.getDataset()->getOriginalXfer();
  edit(*f.getDataset());
  ASSERT_TRUE(f.saveFile(path.c_str(), xfer).good()) << path;
}

void TruncateFile(const std::string& path, size_t keep) {
  std::filesystem::resize_file(path, keep);
}

const privacy::Pseudonymizer& TestPseudonymizer() {
  static const privacy::Pseudonymizer* p =
      new privacy::Pseudonymizer(privacy::Pseudonymizer::FromSecret(std::string(32, 'k')));
  return *p;
}

ImportResult RunImport(const std::string& root, const VolumeCache* cache, ImportOptions options) {
  ImportResult result;
  DicomImporter importer(TestPseudonymizer(), options);
  auto report = importer.Import(
      root,
      [&](CtSeries&& s, const SeriesReport&) {
        result.series.push_back(std::move(s));
        return absl::OkStatus();
      },
      cache);
  EXPECT_TRUE(report.ok()) << report.status();
  if (report.ok()) result.report = *std::move(report);
  return result;
}

const SeriesReport* FindSeries(const ImportReport& report, const std::string& needle) {
  for (const SeriesReport& s : report.series) {
    if (s.reason.find(needle) != std::string::npos) return &s;
    for (const std::string& n : s.notes) {
      if (n.find(needle) != std::string::npos) return &s;
    }
  }
  return nullptr;
}

}  // namespace scancov::node::testing
