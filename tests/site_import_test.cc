// A generated hospital goes through the node's real import path: its admission CSV into the
// clinical store and its CT folder (real DICOM, shuffled files, NIfTI labels beside each
// series) through the DICOM importer into the imaging store. The import must reproduce the
// ground truth: every patient, every series, the same pseudonym on both sides, the phantom's
// grid and its lesion burden.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "gtest/gtest.h"
#include "node/clinical/clinical_import.h"
#include "node/clinical/clinical_store.h"
#include "node/clinical_source.h"
#include "node/imaging/ct_features.h"
#include "node/imaging/dicom_importer.h"
#include "node/imaging/imaging_store.h"
#include "node/imaging/import_pipeline.h"
#include "node/imaging/volume_cache.h"
#include "node/store/node_store.h"
#include "privacy/pseudonymizer.h"
#include "sites/cohort/cohort_generator.h"
#include "sites/cohort/cohort_io.h"
#include "sites/ct/nifti_io.h"
#include "sites/ct/phantom_writer.h"
#include "sites/synth/site_imaging.h"

namespace scancov {
namespace {

TEST(SiteImportTest, GeneratedSiteImportsToItsGroundTruth) {
  const std::string dir = ::testing::TempDir() + "/site_import";
  std::filesystem::remove_all(dir);
  auto profile = sites::NamedSiteProfile("igr");
  ASSERT_TRUE(profile.ok());
  profile->patients = 40;
  const sites::SyntheticSite site = sites::GenerateSite(*profile, 77);
  const sites::ScannerSpec scanner = sites::SiteScanner("igr", sites::CtScale::kSmall);
  std::map<std::string, sites::PhantomTruth> truth;  // by fake patient id
  for (size_t i = 0; i < 5; ++i) {
    const sites::SyntheticPatient& p = site.patients[i];
    auto files = sites::WritePhantomSeries(sites::PhantomSpecFor(p, scanner, 77),
                                           dir + "/ct/" + p.patient_id);
    ASSERT_TRUE(files.ok()) << files.status();
    truth[p.patient_id] = files->truth;
  }

  absl::StatusOr<std::unique_ptr<node::NodeStore>> opened = node::NodeStore::Open(dir + "/node.db");
  ASSERT_TRUE(opened.ok()) << opened.status();
  node::NodeStore& store = **opened;
  const auto pseudonymizer = privacy::Pseudonymizer::FromSecret(std::string(32, 's'));
  auto clinical =
      node::ImportClinicalCsvText(store, pseudonymizer, "admission.csv", sites::AdmissionCsv(site));
  ASSERT_TRUE(clinical.ok()) << clinical.status();
  EXPECT_EQ(clinical->patients_imported, 40);

  node::DicomImporter importer(pseudonymizer);
  node::VolumeCache cache(dir + "/cache");
  std::map<std::string, node::CtSeries> volumes;
  auto sink = [&](node::CtSeries&& v, const node::SeriesReport& report) -> absl::Status {
    node::CtSeriesRecord r = node::SeriesRecordOf(v, report);
    auto labels =
        node::AdoptLabels(node::FindLabelPaths(report.source_dir), dir + "/labels", v.series_key);
    if (!labels.ok()) return labels.status();
    r.lung_labels_path = labels->lungs;
    r.lesion_labels_path = labels->lesions;
    volumes[v.patient_key] = std::move(v);
    return node::UpsertCtSeries(store, r);
  };
  auto report = importer.Import(dir + "/ct", sink, &cache);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->Count(node::SeriesStatus::kImported), 5);

  auto dataset = node::LoadClinicalDataset(store, {"age"}, "severe");
  ASSERT_TRUE(dataset.ok());
  const std::set<std::string> clinical_keys(dataset->pseudonyms.begin(), dataset->pseudonyms.end());
  auto series = node::ListCtSeries(store);
  ASSERT_TRUE(series.ok());
  ASSERT_EQ(series->size(), 5u);
  for (const node::CtSeriesRecord& r : *series) {
    EXPECT_TRUE(clinical_keys.count(r.patient_key)) << "CT and admission rows must join";
    ASSERT_FALSE(r.lesion_labels_path.empty());
    auto lesions = sites::ReadNifti(r.lesion_labels_path);
    ASSERT_TRUE(lesions.ok());
    EXPECT_EQ(lesions->nx, r.nx);
    EXPECT_EQ(lesions->nz, r.nz);
    EXPECT_NEAR(r.spacing_z, scanner.slice_thickness_mm, 1e-6);
    // Lesion voxels of the labels vs the phantom truth of the same (pseudonymous) patient.
    int64_t lesion_voxels = 0;
    for (uint8_t l : lesions->u8) lesion_voxels += l >= 2 && l <= 4;
    bool matched = false;
    for (const auto& [id, t] : truth) {
      if (pseudonymizer.Pseudonym(id) != r.patient_key) continue;
      matched = true;
      EXPECT_EQ(lesion_voxels, t.right.lesion_voxels() + t.left.lesion_voxels());
      // HU inside the labelled GGO voxels lie in the GGO interval (on average).
      const HuVolume& v = volumes.at(r.patient_key).volume;
      double sum = 0;
      int64_t n = 0;
      for (size_t i = 0; i < lesions->u8.size(); ++i) {
        if (lesions->u8[i] == 2) sum += v.voxels[i], ++n;
      }
      if (n > 0) {
        EXPECT_GE(sum / n, -780);
        EXPECT_LT(sum / n, -570);
      }
    }
    EXPECT_TRUE(matched);
  }
  // CT features computed from the imported volumes join the admission rows by pseudonym.
  std::vector<std::pair<double, double>> truth_vs_hu;
  for (const auto& [key, volume] : volumes) {
    auto features = node::ComputeCtFeatures(volume, 1);
    ASSERT_TRUE(features.ok()) << features.status();
    ASSERT_TRUE(node::UpsertCtFeatures(store, *features).ok());
    for (const auto& [id, t] : truth) {
      if (pseudonymizer.Pseudonym(id) != key) continue;
      const double lesions = t.right.lesion_voxels() + t.left.lesion_voxels();
      const double lung = t.right.lung_voxels + t.left.lung_voxels;
      // HU intervals count the lesions plus what is dense in healthy lung at this resolution
      // (vessels, airway walls, partial volume: a few percent), minus the subpleural
      // consolidation the model-free lung mask misses in heavy disease (models/ct tests).
      const double abnormal = features->values.at("ct_abnormal_percent");
      EXPECT_NEAR(abnormal, 100 * lesions / lung, 8.0) << id;
      EXPECT_GT(features->values.at("well_aerated_lung_percent"), 20.0);
      truth_vs_hu.push_back({lesions / lung, abnormal});
    }
  }
  // The most and the least affected patients are told apart.
  std::sort(truth_vs_hu.begin(), truth_vs_hu.end());
  ASSERT_GE(truth_vs_hu.size(), 2u);
  if (truth_vs_hu.back().first - truth_vs_hu.front().first > 0.1) {
    EXPECT_GT(truth_vs_hu.back().second, truth_vs_hu.front().second + 5);
  }
  node::ClinicalDatasetSource source(&store);
  auto joined = source.Load({"age", "well_aerated_lung_percent", "calcium_volume_mm3"}, "severe");
  ASSERT_TRUE(joined.ok()) << joined.status();
  int with_ct = 0;
  for (size_t i = 0; i < joined->keys.size(); ++i) with_ct += !std::isnan(joined->x[i * 3 + 1]);
  EXPECT_EQ(with_ct, 5);

  // No direct identifier reached the store (the DICOM PatientID/Name nor the CSV's). Closing
  // the store checkpoints its write-ahead log into node.db; a WAL left behind is read too.
  opened->reset();
  std::string bytes;
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(dir + "/node.db" + suffix, std::ios::binary);
    bytes.append(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_NE(bytes.find("clinical_value"), std::string::npos) << "the store was read";
  for (size_t i = 0; i < 5; ++i) {
    const sites::SyntheticPatient& p = site.patients[i];
    const std::string needle = p.patient_id;
    EXPECT_EQ(bytes.find(needle), std::string::npos) << "patient id in the store";
    EXPECT_EQ(bytes.find(p.name), std::string::npos) << "patient name in the store";
  }
}

}  // namespace
}  // namespace scancov
