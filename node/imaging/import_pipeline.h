// The node's DICOM import pipeline (what `scancov-node import-dicom` runs): every CT series
// under a folder is
//   1. decoded by the DicomImporter (dicom_importer.h), through the VolumeCache, so that a
//      series imported before is read back instead of decoded again;
//   2. recorded in the imaging store (table ct_series, imaging_store.h: keys, grid, source
//      fingerprint), with the steward's reference labels beside it copied into the node's own
//      state under its pseudonymous key (AdoptLabels: "<cache_dir>/labels");
//   3. measured: its model-free CT features (ct_features.h) go to table ct_features. A series
//      without them (no two lungs: not a chest CT) stays imported; studies see NaN features.
// Series the importer refuses or skips are only listed in the report.
//
// Importing the same folder again replaces the rows of its series (same keys), so the pipeline
// can be rerun after new files arrive. Errors: the folder unreadable, the store or the label
// copy failing (the import stops there; rows written before stay). Messages and logs name
// series by pseudonymous keys only.
#ifndef SCANCOV_NODE_IMAGING_IMPORT_PIPELINE_H_
#define SCANCOV_NODE_IMAGING_IMPORT_PIPELINE_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/env.h"
#include "node/imaging/ct_series.h"
#include "node/imaging/dicom_importer.h"
#include "node/imaging/imaging_store.h"
#include "node/imaging/import_report.h"
#include "node/store/node_store.h"

namespace scancov::node {

struct DicomImportOptions {
  // The VolumeCache folder; reference labels are adopted into "<cache_dir>/labels".
  std::string cache_dir;
  ImportOptions importer;        // decoding policies (dicom_importer.h)
  int feature_threads = 0;       // CT features; 0: the hardware concurrency
  Clock* clock = Clock::Real();  // stamps ct_series.imported_unix; not owned
};

struct DicomImportSummary {
  ImportReport report;    // every series and skipped file, for the steward
  int labelled = 0;       // imported series with reference labels (lungs or lesions)
  int with_features = 0;  // imported series whose CT features were computed
};

// Runs the pipeline over `dir` into `db` (creating the imaging and CT feature tables if
// missing). `db` and `pseudonymizer` are borrowed for the call.
absl::StatusOr<DicomImportSummary> ImportDicomFolder(NodeStore& db,
                                                     const privacy::Pseudonymizer& pseudonymizer,
                                                     const std::string& dir,
                                                     const DicomImportOptions& options);

// The store row of one imported series (no labels yet; imported_unix 0): its keys and grid
// from `series`, the source fingerprint from `report`.
CtSeriesRecord SeriesRecordOf(const CtSeries& series, const SeriesReport& report);

// What `scancov-node import-dicom` prints: the report for the steward, then one line
// "<dir>: N series imported (L with reference labels, F with CT features), R refused,
// S skipped; K files skipped".
std::string DicomImportSummaryText(const std::string& dir, const DicomImportSummary& summary);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_IMAGING_IMPORT_PIPELINE_H_
