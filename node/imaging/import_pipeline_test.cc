// The import pipeline on synthetic series written as real DICOM at test time: store rows,
// adopted labels, cached volumes and CT features, against the phantoms' ground truth.
#include "node/imaging/import_pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <tuple>

#include "absl/strings/match.h"
#include "node/imaging/ct_features.h"
#include "node/imaging/test_util.h"
#include "node/imaging/volume_cache.h"
#include "node/store/node_store.h"

namespace scancov::node {
namespace {

namespace fs = std::filesystem;
using testing::FreshDir;
using testing::SmallSpec;
using testing::TestPseudonymizer;

// Three exams under one export folder: a chest CT with reference labels, one without labels,
// and one with labels but no lungs at all (soft tissue everywhere: not a chest CT).
struct Export {
  std::string root;
  std::map<std::string, sites::PhantomFiles> files;  // by patient key
  std::string labelled, unlabelled, no_lungs;        // patient keys
};

Export WriteExport(const std::string& name) {
  Export e;
  e.root = FreshDir(name);
  const auto write = [&](const sites::PhantomSpec& spec, bool labels, bool lungs) {
    absl::StatusOr<sites::PhantomVolume> volume = sites::GeneratePhantomVolume(spec);
    EXPECT_TRUE(volume.ok()) << volume.status();
    if (!lungs) std::fill(volume->hu.begin(), volume->hu.end(), 40);
    const std::string out = e.root + "/export/" + spec.patient.patient_id;
    absl::StatusOr<sites::PhantomFiles> files = sites::WritePhantomFiles(spec, *volume, out);
    EXPECT_TRUE(files.ok()) << files.status();
    if (!labels) {
      fs::remove(files->lung_labels_path);
      fs::remove(files->lesion_labels_path);
    }
    const std::string key = TestPseudonymizer().Pseudonym(spec.patient.patient_id);
    e.files[key] = *std::move(files);
    return key;
  };
  e.labelled = write(SmallSpec(101, "KB-000101"), true, true);
  e.unlabelled = write(SmallSpec(102, "KB-000102"), false, true);
  e.no_lungs = write(SmallSpec(103, "KB-000103"), true, false);
  return e;
}

DicomImportOptions Options(const std::string& root, FakeClock& clock) {
  DicomImportOptions options;
  options.cache_dir = root + "/state/cache";
  options.feature_threads = 2;
  options.clock = &clock;
  return options;
}

TEST(ImportPipeline, RecordsEverySeriesWithItsLabelsCacheEntryAndFeatures) {
  const Export e = WriteExport("pipeline");
  std::unique_ptr<NodeStore> store = *NodeStore::InMemory();
  NodeStore& db = *store;
  FakeClock clock;
  const DicomImportOptions options = Options(e.root, clock);
  absl::StatusOr<DicomImportSummary> summary =
      ImportDicomFolder(db, TestPseudonymizer(), e.root + "/export", options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->report.Count(SeriesStatus::kImported), 3) << summary->report.ToText();
  EXPECT_EQ(summary->labelled, 2);
  EXPECT_EQ(summary->with_features, 2);

  absl::StatusOr<std::vector<CtSeriesRecord>> rows = ListCtSeries(db);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  const VolumeCache cache(options.cache_dir);
  for (const CtSeriesRecord& r : *rows) {
    ASSERT_EQ(e.files.count(r.patient_key), 1u) << "a row of an unknown patient";
    const sites::PhantomFiles& files = e.files.at(r.patient_key);
    EXPECT_EQ(r.nx, files.grid.nx);
    EXPECT_EQ(r.ny, files.grid.ny);
    EXPECT_EQ(r.nz, files.grid.nz);
    EXPECT_DOUBLE_EQ(r.spacing_x, files.grid.dx);
    EXPECT_NEAR(r.spacing_z, files.grid.dz, 1e-6);
    EXPECT_EQ(r.imported_unix, absl::ToUnixSeconds(clock.Now()));
    // The volume is in the cache under the row's fingerprint, voxel for voxel, placed.
    absl::StatusOr<CtSeries> cached = cache.Load(r.series_key, r.fingerprint);
    ASSERT_TRUE(cached.ok()) << cached.status();
    EXPECT_EQ(cached->patient_key, r.patient_key);
    for (int a = 0; a < 3; ++a) EXPECT_NEAR(cached->volume.origin[a], files.grid.origin[a], 1e-6);
    // Labels: copied under the series key into the node's state, never the source path.
    if (r.patient_key == e.unlabelled) {
      EXPECT_TRUE(r.lung_labels_path.empty());
      EXPECT_TRUE(r.lesion_labels_path.empty());
    } else {
      for (const std::string& path : {r.lung_labels_path, r.lesion_labels_path}) {
        EXPECT_TRUE(absl::StartsWith(path, options.cache_dir + "/labels/" + r.series_key)) << path;
        EXPECT_TRUE(fs::exists(path)) << path;
        EXPECT_FALSE(absl::StrContains(path, "KB-0001")) << path;
      }
    }
  }

  // Features for the two chest CTs only: what the phantom's own voxels give, computed without
  // DICOM (their accuracy against the truth is models/ct's and tests/site_import_test's).
  absl::StatusOr<std::map<std::string, std::map<std::string, double>>> features =
      LoadCtFeaturesByPatient(db);
  ASSERT_TRUE(features.ok()) << features.status();
  EXPECT_EQ(features->size(), 2u);
  EXPECT_EQ(features->count(e.no_lungs), 0u);
  for (const auto& [key, seed, id] : {std::make_tuple(e.labelled, 101, "KB-000101"),
                                      std::make_tuple(e.unlabelled, 102, "KB-000102")}) {
    ASSERT_EQ(features->count(key), 1u);
    absl::StatusOr<sites::PhantomVolume> phantom =
        sites::GeneratePhantomVolume(SmallSpec(seed, id));
    ASSERT_TRUE(phantom.ok());
    const sites::PhantomGrid& g = phantom->grid;
    CtSeries direct;
    direct.volume = HuVolume(g.nx, g.ny, g.nz, {g.dx, g.dy, g.dz});
    direct.volume.voxels = phantom->hu;
    absl::StatusOr<CtFeatures> expected = ComputeCtFeatures(direct, 1);
    ASSERT_TRUE(expected.ok()) << expected.status();
    for (const auto& [name, value] : expected->values) {
      EXPECT_NEAR(features->at(key).at(name), value, 1e-9 * (1 + std::abs(value))) << name;
    }
    EXPECT_GT(features->at(key).at("lung_volume_ml"), 500);
  }
}

TEST(ImportPipeline, RerunReadsTheCacheAndReplacesTheRows) {
  const Export e = WriteExport("pipeline_rerun");
  std::unique_ptr<NodeStore> store = *NodeStore::InMemory();
  NodeStore& db = *store;
  FakeClock clock;
  const DicomImportOptions options = Options(e.root, clock);
  ASSERT_TRUE(ImportDicomFolder(db, TestPseudonymizer(), e.root + "/export", options).ok());
  clock.Advance(absl::Hours(1));
  absl::StatusOr<DicomImportSummary> again =
      ImportDicomFolder(db, TestPseudonymizer(), e.root + "/export", options);
  ASSERT_TRUE(again.ok()) << again.status();
  for (const SeriesReport& s : again->report.series) EXPECT_TRUE(s.from_cache);
  EXPECT_EQ(again->labelled, 2);
  EXPECT_EQ(again->with_features, 2);
  absl::StatusOr<std::vector<CtSeriesRecord>> rows = ListCtSeries(db);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  for (const CtSeriesRecord& r : *rows) {
    EXPECT_EQ(r.imported_unix, absl::ToUnixSeconds(clock.Now()));
  }
}

TEST(ImportPipeline, MissingFolderFailsAndWritesNothing) {
  const std::string root = FreshDir("pipeline_missing");
  std::unique_ptr<NodeStore> store = *NodeStore::InMemory();
  NodeStore& db = *store;
  FakeClock clock;
  absl::StatusOr<DicomImportSummary> summary =
      ImportDicomFolder(db, TestPseudonymizer(), root + "/absent", Options(root, clock));
  EXPECT_FALSE(summary.ok());
  absl::StatusOr<std::vector<CtSeriesRecord>> rows = ListCtSeries(db);
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
}

TEST(ImportPipeline, LabelsThatCannotBeAdoptedStopTheImport) {
  const Export e = WriteExport("pipeline_no_state");
  std::unique_ptr<NodeStore> store = *NodeStore::InMemory();
  NodeStore& db = *store;
  FakeClock clock;
  const DicomImportOptions options = Options(e.root, clock);
  // The node's state folder is a file: neither the cache nor the labels can be written.
  std::ofstream(e.root + "/state") << "not a folder";
  absl::StatusOr<DicomImportSummary> summary =
      ImportDicomFolder(db, TestPseudonymizer(), e.root + "/export", options);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kPermissionDenied) << summary.status();
  EXPECT_TRUE(absl::StrContains(summary.status().message(), "labels")) << summary.status();
  EXPECT_FALSE(absl::StrContains(summary.status().message(), "KB-0001")) << summary.status();
}

TEST(ImportPipeline, SummaryTextIsWhatTheNodePrints) {
  DicomImportSummary summary;
  SeriesReport imported;
  imported.status = SeriesStatus::kImported;
  SeriesReport refused;
  refused.status = SeriesStatus::kRefused;
  summary.report.series = {imported, imported, refused};
  summary.report.skipped_files.push_back({"a.txt", "not a DICOM file"});
  summary.labelled = 1;
  summary.with_features = 2;
  const std::string text = DicomImportSummaryText("/data/export", summary);
  EXPECT_TRUE(absl::StartsWith(text, summary.report.ToText()));
  EXPECT_TRUE(absl::EndsWith(text,
                             "/data/export: 2 series imported (1 with reference labels, 2 with "
                             "CT features), 1 refused, 0 skipped; 1 files skipped\n"))
      << text;
}

}  // namespace
}  // namespace scancov::node
