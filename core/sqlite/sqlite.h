// The one door to SQLite (SQLiteCpp) for every store of the project: opening a database,
// turning SQLiteCpp's exceptions into absl::Status where they enter, transactions, and typed
// reads of a result row. Stores keep their own SQL; what is the same in all of them lives here.
//
//   absl::StatusOr<std::vector<Entry>> List(SQLite::Database& db) {
//     return sqlite::Guard("task log: list", [&]() -> absl::StatusOr<std::vector<Entry>> {
//       SQLite::Statement q(db, "SELECT task_id, started_unix FROM task_log");
//       std::vector<Entry> out;
//       while (q.executeStep()) {
//         sqlite::Row row(q);
//         out.push_back({row.Text(), row.Int64()});
//       }
//       return out;
//     });
//   }
//
// Error messages are "where: why". `why` is SQLite's own message (it names tables, columns and
// constraints, never a bound or stored value); the text of any other exception is withheld,
// since it may quote data. So a Status from here may be logged or sent: it holds no row's value.
//
// Thread safety: these functions hold no state; a SQLite::Database is used by one thread at a
// time unless it was opened with `serialized` (see OpenOptions).
#ifndef SCANCOV_CORE_SQLITE_SQLITE_H_
#define SCANCOV_CORE_SQLITE_SQLITE_H_

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scancov::sqlite {

inline constexpr char kInMemory[] = ":memory:";

struct OpenOptions {
  bool create = true;         // create the file if it does not exist
  bool wal = true;            // journal_mode=WAL, synchronous=NORMAL (files only)
  bool foreign_keys = false;  // PRAGMA foreign_keys=ON
  bool serialized = true;     // SQLite's full mutex: the connection may be shared by threads
};

// Opens the database at `path` (kInMemory: a private in-memory database). Unavailable
// "<path>: cannot open the database: why" when SQLite cannot.
absl::StatusOr<std::unique_ptr<SQLite::Database>> Open(const std::string& path,
                                                       const OpenOptions& options = {});

// The Status for an exception caught at the SQLite boundary: "where: why", with `code`
// (kInternal by default). See the header comment for what `why` may contain.
absl::Status StatusFromException(absl::string_view where, const std::exception& e,
                                 absl::StatusCode code = absl::StatusCode::kInternal);

// Runs `body` (returning absl::Status or absl::StatusOr<T>) and returns what it returns; an
// exception it throws becomes StatusFromException(where, e).
template <typename Fn>
auto Guard(absl::string_view where, Fn&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return StatusFromException(where, e);
  }
}

// Runs `body` (returning absl::Status or absl::StatusOr<T>) in one transaction of `db`:
// committed when it returns OK; rolled back as a whole when it returns an error (returned as
// is) or throws (StatusFromException(where, e)). Not for nesting: SQLite has one transaction
// per connection.
template <typename Fn>
auto InTransaction(SQLite::Database& db, absl::string_view where, Fn&& body) -> decltype(body()) {
  return Guard(where, [&]() -> decltype(body()) {
    SQLite::Transaction transaction(db);
    auto result = body();
    if (!result.ok()) return result;  // the Transaction's destructor rolls back
    transaction.commit();
    return result;
  });
}

// Binds `bytes` as a BLOB (SQLiteCpp's bind of a std::string binds TEXT).
void BindBlob(SQLite::Statement& q, int index, absl::string_view bytes);
// The same without SQLite's copy (for blobs of tens of megabytes): `bytes` must stay alive and
// unchanged until the statement has been executed or reset.
void BindBlobNoCopy(SQLite::Statement& q, int index, absl::string_view bytes);

// Reads the current row of a stepped statement, one column after the other from `first`:
//   sqlite::Row row(q);
//   site.id = row.Text();
//   site.enabled = row.Bool();
// A NULL reads as "", 0, 0.0 or false (or nullopt where the type says so). The statement must
// outlive the Row and stay on the same row while it is read.
class Row {
 public:
  explicit Row(const SQLite::Statement& statement, int first = 0)
      : statement_(statement), next_(first) {}

  std::string Text();
  std::string Blob();  // the bytes of a BLOB (or TEXT) column
  int64_t Int64();
  int Int();
  uint32_t Uint32();  // an INTEGER written from a uint32_t
  uint64_t Uint64();  // an INTEGER written from a uint64_t (as int64_t)
  double Double();
  std::optional<double> OptionalDouble();  // NULL reads as nullopt
  bool Bool();                             // INTEGER != 0
  template <typename Enum>
  Enum EnumValue() {  // an enum stored as INTEGER
    return static_cast<Enum>(Int());
  }
  bool NextIsNull() const;
  void Skip(int columns = 1) { next_ += columns; }
  int next_index() const { return next_; }

 private:
  SQLite::Column Next() { return statement_.getColumn(next_++); }

  const SQLite::Statement& statement_;
  int next_;
};

}  // namespace scancov::sqlite

#endif  // SCANCOV_CORE_SQLITE_SQLITE_H_
