#include "core/sqlite/sqlite.h"

#include <SQLiteCpp/Exception.h>

#include <new>

#include "absl/strings/str_cat.h"

namespace scancov::sqlite {

absl::StatusOr<std::unique_ptr<SQLite::Database>> Open(const std::string& path,
                                                       const OpenOptions& options) {
  int flags = SQLite::OPEN_READWRITE;
  if (options.create) flags |= SQLite::OPEN_CREATE;
  flags |= options.serialized ? SQLite::OPEN_FULLMUTEX : SQLite::OPEN_NOMUTEX;
  try {
    auto db = std::make_unique<SQLite::Database>(path, flags);
    if (options.wal && path != kInMemory) {
      db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    }
    if (options.foreign_keys) db->exec("PRAGMA foreign_keys=ON;");
    return db;
  } catch (const std::exception& e) {
    return StatusFromException(absl::StrCat(path, ": cannot open the database"), e,
                               absl::StatusCode::kUnavailable);
  }
}

absl::Status StatusFromException(absl::string_view where, const std::exception& e,
                                 absl::StatusCode code) {
  // SQLite's messages (sqlite3_errmsg and SQLiteCpp's own) describe the statement and schema,
  // never the values bound to it or stored in a row; other exceptions may quote anything.
  if (dynamic_cast<const SQLite::Exception*>(&e) != nullptr) {
    return absl::Status(code, absl::StrCat(where, ": ", e.what()));
  }
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(where, ": out of memory"));
  }
  return absl::Status(code, absl::StrCat(where, ": unexpected exception (its text is withheld)"));
}

void BindBlob(SQLite::Statement& q, int index, absl::string_view bytes) {
  q.bind(index, bytes.data(), static_cast<int>(bytes.size()));
}

void BindBlobNoCopy(SQLite::Statement& q, int index, absl::string_view bytes) {
  q.bindNoCopy(index, bytes.data(), static_cast<int>(bytes.size()));
}

std::string Row::Text() {
  const SQLite::Column c = Next();
  return c.isNull() ? std::string() : c.getString();
}

std::string Row::Blob() {
  const SQLite::Column c = Next();
  if (c.isNull()) return std::string();
  return std::string(static_cast<const char*>(c.getBlob()), static_cast<size_t>(c.getBytes()));
}

int64_t Row::Int64() { return Next().getInt64(); }

int Row::Int() { return Next().getInt(); }

uint32_t Row::Uint32() { return static_cast<uint32_t>(Next().getInt64()); }

uint64_t Row::Uint64() { return static_cast<uint64_t>(Next().getInt64()); }

double Row::Double() { return Next().getDouble(); }

std::optional<double> Row::OptionalDouble() {
  const SQLite::Column c = Next();
  if (c.isNull()) return std::nullopt;
  return c.getDouble();
}

bool Row::Bool() { return Next().getInt64() != 0; }

bool Row::NextIsNull() const { return statement_.getColumn(next_).isNull(); }

}  // namespace scancov::sqlite
