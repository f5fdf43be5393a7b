#include "core/sqlite/sqlite.h"

#include <cstdio>
#include <stdexcept>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace scancov::sqlite {
namespace {

std::unique_ptr<SQLite::Database> MemoryDb() {
  absl::StatusOr<std::unique_ptr<SQLite::Database>> db = Open(kInMemory);
  EXPECT_TRUE(db.ok()) << db.status();
  return std::move(db).value();
}

TEST(SqliteOpenTest, FileIsCreatedInWalModeAndAMissingFolderIsUnavailable) {
  const std::string path = ::testing::TempDir() + "/sqlite_open.db";
  std::remove(path.c_str());
  absl::StatusOr<std::unique_ptr<SQLite::Database>> db = Open(path);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ((*db)->execAndGet("PRAGMA journal_mode").getString(), "wal");

  OpenOptions existing;
  existing.create = false;
  EXPECT_TRUE(Open(path, existing).ok());
  absl::StatusOr<std::unique_ptr<SQLite::Database>> missing =
      Open(::testing::TempDir() + "/no_such_folder/x.db", existing);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "no_such_folder/x.db: cannot open"))
      << missing.status();
}

TEST(SqliteGuardTest, ValuesPassThrough) {
  absl::StatusOr<int> seven = Guard("w", []() -> absl::StatusOr<int> { return 7; });
  ASSERT_TRUE(seven.ok());
  EXPECT_EQ(*seven, 7);
  absl::Status refused = Guard("w", [] { return absl::NotFoundError("x: absent"); });
  EXPECT_EQ(refused, absl::NotFoundError("x: absent"));  // returned as is, not annotated
}

// A constraint failure names the table and column; the value that collided never appears.
TEST(SqliteGuardTest, SqliteErrorsSayWhereAndWhyWithoutTheRowsValues) {
  std::unique_ptr<SQLite::Database> db = MemoryDb();
  db->exec("CREATE TABLE patient(pseudonym TEXT PRIMARY KEY, age REAL NOT NULL)");
  const std::string secret = "PATIENT-DUPONT-1947";
  auto insert = [&] {
    SQLite::Statement q(*db, "INSERT INTO patient VALUES(?, ?)");
    q.bind(1, secret);
    q.bind(2, 83.5);
    q.exec();
    return absl::OkStatus();
  };
  ASSERT_TRUE(Guard("clinical store: write", insert).ok());
  absl::Status twice = Guard("clinical store: write", insert);
  EXPECT_EQ(twice.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StartsWith(twice.message(), "clinical store: write: ")) << twice;
  EXPECT_TRUE(absl::StrContains(twice.message(), "patient.pseudonym")) << twice;
  EXPECT_FALSE(absl::StrContains(twice.message(), secret)) << twice;
  EXPECT_FALSE(absl::StrContains(twice.message(), "83.5")) << twice;

  absl::Status bad_sql = Guard("w", [&] {
    db->exec("SELECT nonexistent FROM patient");
    return absl::OkStatus();
  });
  EXPECT_TRUE(absl::StrContains(bad_sql.message(), "w: no such column: nonexistent")) << bad_sql;
}

TEST(SqliteGuardTest, OtherExceptionsKeepTheirTextBack) {
  absl::Status s = Guard("ledger: list", []() -> absl::Status {
    throw std::runtime_error("cannot parse 'PATIENT-DUPONT-1947'");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StartsWith(s.message(), "ledger: list: ")) << s;
  EXPECT_FALSE(absl::StrContains(s.message(), "DUPONT")) << s;
  absl::StatusOr<int> oom = Guard("w", []() -> absl::StatusOr<int> { throw std::bad_alloc(); });
  EXPECT_EQ(oom.status().code(), absl::StatusCode::kResourceExhausted);
}

int64_t Count(SQLite::Database& db) { return db.execAndGet("SELECT COUNT(*) FROM t").getInt64(); }

TEST(SqliteTransactionTest, CommitsOnOkRollsBackOnErrorOrThrow) {
  std::unique_ptr<SQLite::Database> db = MemoryDb();
  db->exec("CREATE TABLE t(x INTEGER PRIMARY KEY)");
  absl::StatusOr<int64_t> id = InTransaction(*db, "t: add", [&]() -> absl::StatusOr<int64_t> {
    db->exec("INSERT INTO t VALUES(1)");
    return db->getLastInsertRowid();
  });
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, 1);

  absl::Status refused = InTransaction(*db, "t: add", [&] {
    db->exec("INSERT INTO t VALUES(2)");
    return absl::InvalidArgumentError("t: refused");
  });
  EXPECT_EQ(refused, absl::InvalidArgumentError("t: refused"));
  EXPECT_EQ(Count(*db), 1);

  absl::Status thrown = InTransaction(*db, "t: add", [&] {
    db->exec("INSERT INTO t VALUES(3)");
    db->exec("INSERT INTO t VALUES(1)");  // a duplicate key throws half-way
    return absl::OkStatus();
  });
  EXPECT_EQ(thrown.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StartsWith(thrown.message(), "t: add: ")) << thrown;
  EXPECT_EQ(Count(*db), 1);  // row 3 was rolled back with the rest
}

enum class Colour { kRed = 0, kBlue = 2 };

TEST(SqliteRowTest, ReadsEachTypeInOrderAndNullsAsEmpty) {
  std::unique_ptr<SQLite::Database> db = MemoryDb();
  db->exec("CREATE TABLE r(t TEXT, b BLOB, i INTEGER, u INTEGER, d REAL, f INTEGER, e INTEGER)");
  SQLite::Statement insert(*db, "INSERT INTO r VALUES(?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, "kb");
  const std::string bytes("a\0b\xff", 4);
  BindBlob(insert, 2, bytes);
  insert.bind(3, int64_t{-5000000000});
  insert.bind(4, static_cast<int64_t>(uint32_t{4000000000}));
  insert.bind(5, 0.25);
  insert.bind(6, 1);
  insert.bind(7, 2);
  insert.exec();
  db->exec("INSERT INTO r VALUES(NULL, NULL, NULL, NULL, NULL, NULL, NULL)");

  SQLite::Statement q(*db, "SELECT * FROM r ORDER BY rowid");
  ASSERT_TRUE(q.executeStep());
  Row row(q);
  EXPECT_EQ(row.Text(), "kb");
  EXPECT_EQ(row.Blob(), bytes);
  EXPECT_EQ(row.Int64(), -5000000000);
  EXPECT_EQ(row.Uint32(), 4000000000u);
  EXPECT_EQ(row.OptionalDouble(), 0.25);
  EXPECT_TRUE(row.Bool());
  EXPECT_EQ(row.EnumValue<Colour>(), Colour::kBlue);

  ASSERT_TRUE(q.executeStep());
  Row nulls(q);
  EXPECT_TRUE(nulls.NextIsNull());
  EXPECT_EQ(nulls.Text(), "");
  EXPECT_EQ(nulls.Blob(), "");
  EXPECT_EQ(nulls.Int64(), 0);
  EXPECT_EQ(nulls.Uint64(), 0u);
  EXPECT_EQ(nulls.OptionalDouble(), std::nullopt);
  EXPECT_FALSE(nulls.Bool());
  EXPECT_EQ(nulls.next_index(), 6);

  Row skipping(q, 4);
  EXPECT_EQ(skipping.Double(), 0.0);
  skipping.Skip();
  EXPECT_EQ(skipping.Int(), 0);
}

}  // namespace
}  // namespace scancov::sqlite
