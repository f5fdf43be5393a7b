#include "node/bedside/bedside_test_util.h"

#include <gtest/gtest.h>

// clang-format off
#include <dcmtk/config/osconfig.h>
// clang-format on
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include <filesystem>

#include "privacy/pseudonymizer.h"

namespace scancov::node::testing {

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/bedside_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

const std::string& TestSecretPath() {
  static const std::string* path = [] {
    auto* p = new std::string(::testing::TempDir() + "/bedside_site.secret");
    // FromSecretFile creates the secret (0600) when it is missing.
    EXPECT_TRUE(privacy::Pseudonymizer::FromSecretFile(*p).ok());
    return p;
  }();
  return *path;
}

sites::PhantomSpec ChestSpec(uint64_t seed, double extent_right, double extent_left) {
  sites::PhantomSpec spec;
  spec.seed = seed;
  spec.patient.patient_id = kFakePatientId;
  spec.patient.patient_name = kFakePatientName;
  spec.disease.extent_right = extent_right;
  spec.disease.extent_left = extent_left;
  spec.disease.ggo_fraction = 0.5;
  spec.disease.crazy_paving_fraction = 0.25;
  spec.disease.consolidation_fraction = 0.25;
  spec.calcium.coronary_mm3 = 150;
  spec.calcium.aorta_mm3 = 300;
  spec.scanner = sites::SmallScanner();
  return spec;
}

sites::PhantomFiles WriteChestPhantom(const sites::PhantomSpec& spec, const std::string& name) {
  absl::StatusOr<sites::PhantomFiles> files = sites::WritePhantomSeries(spec, FreshDir(name));
  EXPECT_TRUE(files.ok()) << files.status();
  if (!files.ok()) return {};
  for (const std::string& path : files->dicom.files) {
    DcmFileFormat f;
    EXPECT_TRUE(f.loadFile(path.c_str()).good()) << path;
    f.loadAllDataIntoMemory();  // saving over the file it lazily reads from
    f.getDataset()->putAndInsertString(DCM_PatientBirthDate, kFakeBirthDate);
    EXPECT_TRUE(f.saveFile(path.c_str(), f.getDataset()->getOriginalXfer()).good()) << path;
  }
  return *std::move(files);
}

const sites::PhantomFiles& SharedPhantom() {
  static const sites::PhantomFiles* files =
      new sites::PhantomFiles(WriteChestPhantom(ChestSpec(7, 0.40, 0.30), "shared"));
  return *files;
}

BedsideRequest DefaultRequest(const std::string& dicom_dir) {
  BedsideRequest r;
  r.dicom_dir = dicom_dir;
  r.clinical = scores::PatientInputs{
      {"age", 63}, {"sex", 1}, {"spo2", 91}, {"platelets", 210}, {"urea", 7.1}};
  r.options.secret_path = TestSecretPath();
  r.options.threads = 2;
  return r;
}

}  // namespace scancov::node::testing
