#include "node/imaging/imaging_store.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <filesystem>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace scancov::node {
namespace {

template <typename Fn>
auto Guard(const char* what, Fn&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("imaging store: ", what, ": ", e.what()));
  }
}

CtSeriesRecord Read(SQLite::Statement& q) {
  CtSeriesRecord r;
  r.series_key = q.getColumn(0).getString();
  r.patient_key = q.getColumn(1).getString();
  r.study_key = q.getColumn(2).getString();
  r.nx = q.getColumn(3).getInt();
  r.ny = q.getColumn(4).getInt();
  r.nz = q.getColumn(5).getInt();
  r.spacing_x = q.getColumn(6).getDouble();
  r.spacing_y = q.getColumn(7).getDouble();
  r.spacing_z = q.getColumn(8).getDouble();
  r.fingerprint = q.getColumn(9).getString();
  r.lung_labels_path = q.getColumn(10).getString();
  r.lesion_labels_path = q.getColumn(11).getString();
  r.imported_unix = q.getColumn(12).getInt64();
  return r;
}

}  // namespace

absl::Status CreateImagingSchema(SQLite::Database& db) {
  return Guard("create schema", [&] {
    db.exec(
        "CREATE TABLE IF NOT EXISTS ct_series(series_key TEXT PRIMARY KEY, "
        "patient_key TEXT NOT NULL, study_key TEXT NOT NULL, nx INTEGER NOT NULL, "
        "ny INTEGER NOT NULL, nz INTEGER NOT NULL, spacing_x REAL NOT NULL, "
        "spacing_y REAL NOT NULL, spacing_z REAL NOT NULL, fingerprint TEXT NOT NULL, "
        "lung_labels_path TEXT NOT NULL, lesion_labels_path TEXT NOT NULL, "
        "imported_unix INTEGER NOT NULL);"
        "CREATE INDEX IF NOT EXISTS ct_series_by_patient ON ct_series(patient_key);");
    return absl::OkStatus();
  });
}

absl::Status UpsertCtSeries(SQLite::Database& db, const CtSeriesRecord& r) {
  return Guard("upsert series", [&] {
    SQLite::Statement q(db,
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

absl::StatusOr<std::vector<CtSeriesRecord>> ListCtSeries(SQLite::Database& db) {
  return Guard("list series", [&]() -> absl::StatusOr<std::vector<CtSeriesRecord>> {
    SQLite::Statement q(db, "SELECT * FROM ct_series ORDER BY patient_key, series_key");
    std::vector<CtSeriesRecord> out;
    while (q.executeStep()) out.push_back(Read(q));
    return out;
  });
}

absl::StatusOr<std::optional<CtSeriesRecord>> GetCtSeries(SQLite::Database& db,
                                                          const std::string& series_key) {
  return Guard("get series", [&]() -> absl::StatusOr<std::optional<CtSeriesRecord>> {
    SQLite::Statement q(db, "SELECT * FROM ct_series WHERE series_key = ?");
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
