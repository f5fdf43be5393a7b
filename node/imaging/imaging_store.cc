#include "node/imaging/imaging_store.h"

#include <filesystem>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "core/sqlite/sqlite.h"

namespace scancov::node {
namespace {

CtSeriesRecord Read(const SQLite::Statement& q) {
  sqlite::Row row(q);
  CtSeriesRecord r;
  r.series_key = row.Text();
  r.patient_key = row.Text();
  r.study_key = row.Text();
  r.nx = row.Int();
  r.ny = row.Int();
  r.nz = row.Int();
  r.spacing_x = row.Double();
  r.spacing_y = row.Double();
  r.spacing_z = row.Double();
  r.fingerprint = row.Text();
  r.lung_labels_path = row.Text();
  r.lesion_labels_path = row.Text();
  r.imported_unix = row.Int64();
  return r;
}

}  // namespace

absl::Status UpsertCtSeries(NodeStore& store, const CtSeriesRecord& r) {
  return sqlite::Guard("imaging store: upsert series", [&] {
    SQLite::Statement q(store.db(),
                        "INSERT OR REPLACE INTO ct_series VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "?, ?)");
    q.bind(1, r.series_key);
    q.bind(2, r.patient_key);
    q.bind(3, r.study_key);
    q.bind(4, r.nx);
    q.bind(5, r.ny);
    q.bind(6, r.nz);
    q.bind(7, r.spacing_x);
    q.bind(8, r.spacing_y);
    q.bind(9, r.spacing_z);
    q.bind(10, r.fingerprint);
    q.bind(11, r.lung_labels_path);
    q.bind(12, r.lesion_labels_path);
    q.bind(13, r.imported_unix);
    q.exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<CtSeriesRecord>> ListCtSeries(NodeStore& store) {
  return sqlite::Guard(
      "imaging store: list series", [&]() -> absl::StatusOr<std::vector<CtSeriesRecord>> {
        SQLite::Statement q(store.db(), "SELECT * FROM ct_series ORDER BY patient_key, series_key");
        std::vector<CtSeriesRecord> out;
        while (q.executeStep()) out.push_back(Read(q));
        return out;
      });
}

absl::StatusOr<std::optional<CtSeriesRecord>> GetCtSeries(NodeStore& store,
                                                          const std::string& series_key) {
  return sqlite::Guard(
      "imaging store: get series", [&]() -> absl::StatusOr<std::optional<CtSeriesRecord>> {
        SQLite::Statement q(store.db(), "SELECT * FROM ct_series WHERE series_key = ?");
        q.bind(1, series_key);
        if (!q.executeStep()) return std::optional<CtSeriesRecord>();
        return std::optional<CtSeriesRecord>(Read(q));
      });
}

LabelPaths FindLabelPaths(const std::string& source_dir) {
  LabelPaths paths;
  if (source_dir.empty()) return paths;
  const std::filesystem::path parent = std::filesystem::path(source_dir).parent_path();
  std::error_code ec;
  if (std::filesystem::is_regular_file(parent / "lungs.nii.gz", ec)) {
    paths.lungs = (parent / "lungs.nii.gz").string();
  }
  if (std::filesystem::is_regular_file(parent / "lesions.nii.gz", ec)) {
    paths.lesions = (parent / "lesions.nii.gz").string();
  }
  return paths;
}

absl::StatusOr<LabelPaths> AdoptLabels(const LabelPaths& found, const std::string& labels_dir,
                                       const std::string& series_key) {
  LabelPaths adopted;
  std::error_code ec;
  std::filesystem::create_directories(labels_dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat(labels_dir, ": cannot create labels directory: ", ec.message()));
  }
  for (auto [from, to, suffix] :
       {std::tuple{&found.lungs, &adopted.lungs, ".lungs.nii.gz"},
        std::tuple{&found.lesions, &adopted.lesions, ".lesions.nii.gz"}}) {
    if (from->empty()) continue;
    const std::string target = (std::filesystem::path(labels_dir) / (series_key + suffix)).string();
    std::filesystem::copy_file(*from, target, std::filesystem::copy_options::overwrite_existing,
                               ec);
    if (ec) {
      return absl::DataLossError(absl::StrCat("series ", series_key.substr(0, 12),
                                              ": cannot copy its labels: ", ec.message()));
    }
    *to = target;
  }
  return adopted;
}

}  // namespace scancov::node
