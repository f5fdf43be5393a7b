#include "node/imaging/import_pipeline.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "node/imaging/ct_features.h"
#include "node/imaging/volume_cache.h"

namespace scancov::node {
namespace {

// Steps 2 and 3 for one decoded series; counts what it found into `summary`.
absl::Status StoreSeries(NodeStore& db, const DicomImportOptions& options, const CtSeries& series,
                         const SeriesReport& report, DicomImportSummary& summary) {
  CtSeriesRecord r = SeriesRecordOf(series, report);
  SCV_ASSIGN_OR_RETURN(LabelPaths labels,
                       AdoptLabels(FindLabelPaths(report.source_dir), options.cache_dir + "/labels",
                                   series.series_key));
  r.lung_labels_path = labels.lungs;
  r.lesion_labels_path = labels.lesions;
  summary.labelled += !labels.lungs.empty() || !labels.lesions.empty();
  r.imported_unix = absl::ToUnixSeconds(options.clock->Now());
  SCV_RETURN_IF_ERROR(UpsertCtSeries(db, r));
  absl::StatusOr<CtFeatures> features = ComputeCtFeatures(series, options.feature_threads);
  if (!features.ok()) {
    spdlog::warn("series {}: no CT features: {}", series.series_key.substr(0, 12),
                 std::string(features.status().message()));
    return absl::OkStatus();  // the series stays imported; studies see NaN features
  }
  ++summary.with_features;
  return UpsertCtFeatures(db, *features);
}

}  // namespace

CtSeriesRecord SeriesRecordOf(const CtSeries& series, const SeriesReport& report) {
  const HuVolume& v = series.volume;
  CtSeriesRecord r;
  r.series_key = series.series_key;
  r.patient_key = series.patient_key;
  r.study_key = series.study_key;
  r.nx = v.nx;
  r.ny = v.ny;
  r.nz = v.nz;
  r.spacing_x = v.spacing[0];
  r.spacing_y = v.spacing[1];
  r.spacing_z = v.spacing[2];
  r.fingerprint = report.fingerprint;
  return r;
}

absl::StatusOr<DicomImportSummary> ImportDicomFolder(NodeStore& db,
                                                     const privacy::Pseudonymizer& pseudonymizer,
                                                     const std::string& dir,
                                                     const DicomImportOptions& options) {
  const DicomImporter importer(pseudonymizer, options.importer);
  const VolumeCache cache(options.cache_dir);
  DicomImportSummary summary;
  auto sink = [&](CtSeries&& series, const SeriesReport& report) {
    return StoreSeries(db, options, series, report, summary);
  };
  SCV_ASSIGN_OR_RETURN(summary.report, importer.Import(dir, sink, &cache));
  return summary;
}

std::string DicomImportSummaryText(const std::string& dir, const DicomImportSummary& summary) {
  const ImportReport& report = summary.report;
  return absl::StrCat(
      report.ToText(),
      absl::StrFormat("%s: %d series imported (%d with reference labels, %d with CT "
                      "features), %d refused, %d skipped; %d files skipped\n",
                      dir, report.Count(SeriesStatus::kImported), summary.labelled,
                      summary.with_features, report.Count(SeriesStatus::kRefused),
                      report.Count(SeriesStatus::kSkipped), report.skipped_files.size()));
}

}  // namespace scancov::node
