#include "node/store/node_store.h"

#include <filesystem>

#include "core/file_util.h"
#include "core/sqlite/sqlite.h"
#include "core/status_macros.h"
#include "node/store/node_schema.h"

namespace scancov::node {

NodeStore::NodeStore(std::string path, std::unique_ptr<SQLite::Database> db)
    : path_(std::move(path)), db_(std::move(db)) {}

NodeStore::~NodeStore() = default;

absl::StatusOr<std::unique_ptr<NodeStore>> NodeStore::Open(const std::string& path) {
  const std::string folder = std::filesystem::path(path).parent_path().string();
  if (!folder.empty()) SCV_RETURN_IF_ERROR(MakeDirs(folder));
  return OpenAt(path);
}

absl::StatusOr<std::unique_ptr<NodeStore>> NodeStore::InMemory() {
  return OpenAt(sqlite::kInMemory);
}

absl::StatusOr<std::unique_ptr<NodeStore>> NodeStore::OpenAt(const std::string& path) {
  absl::StatusOr<std::unique_ptr<SQLite::Database>> db = sqlite::Open(path);
  if (!db.ok()) return Annotate(db.status(), "node store");
  SCV_RETURN_IF_ERROR(CreateNodeSchema(**db));
  return std::unique_ptr<NodeStore>(
      new NodeStore(path == sqlite::kInMemory ? "" : path, *std::move(db)));
}

}  // namespace scancov::node
