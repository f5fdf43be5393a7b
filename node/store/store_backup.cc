#include "node/store/store_backup.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/file_util.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "core/version.h"

namespace scancov::node {
namespace {

namespace fs = std::filesystem;

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// Writes `bytes` to a new file (never replacing one) readable by the owner only.
absl::Status WritePrivateFile(const std::string& path, absl::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", path);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const absl::Status status = Errno("cannot write", path);
      ::close(fd);
      return status;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return Errno("cannot write", path);
  return absl::OkStatus();
}

absl::StatusOr<BackupFile> Describe(const std::string& dir, const std::string& name,
                                    const std::string& source) {
  SCV_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(dir + "/" + name));
  return BackupFile{name, source, static_cast<int64_t>(bytes.size()), ToHex(Sha256Digest(bytes))};
}

absl::Status CopyPrivate(const std::string& from, const std::string& dir, const std::string& name) {
  SCV_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(from));
  return WritePrivateFile(dir + "/" + name, bytes);
}

std::set<std::string> Tables(SQLite::Database& db) {
  SQLite::Statement q(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  std::set<std::string> out;
  while (q.executeStep()) out.insert(q.getColumn(0).getString());
  return out;
}

// The snapshot of the store, checked.
absl::Status SnapshotStore(const std::string& store, const std::string& to, int64_t& tables,
                           int64_t& rows) {
  std::error_code ec;
  if (!fs::is_regular_file(store, ec)) {
    return absl::NotFoundError(
        absl::StrCat("no store at ", store, " (site file \"store\"): nothing to back up"));
  }
  std::set<std::string> source_tables;
  try {
    SQLite::Database db(store, SQLite::OPEN_READONLY);
    db.setBusyTimeout(10000);
    source_tables = Tables(db);
    SQLite::Statement vacuum(db, "VACUUM INTO ?");
    vacuum.bind(1, to);
    vacuum.exec();
  } catch (const SQLite::Exception& e) {
    return absl::InternalError(absl::StrCat("cannot copy the store ", store, ": ", e.what()));
  }
  if (::chmod(to.c_str(), 0600) != 0) return Errno("cannot restrict", to);
  try {
    SQLite::Database copy(to, SQLite::OPEN_READONLY);
    const std::string integrity = copy.execAndGet("PRAGMA integrity_check").getString();
    if (integrity != "ok") {
      return absl::DataLossError(
          absl::StrCat("the copy of the store ", to, " fails its integrity check: ", integrity));
    }
    const std::set<std::string> copied = Tables(copy);
    if (copied != source_tables) {
      return absl::DataLossError(
          absl::StrCat("the copy of the store ", to, " has other tables than ", store));
    }
    tables = static_cast<int64_t>(copied.size());
    rows = 0;
    for (const std::string& table : copied) {
      rows += copy.execAndGet(absl::StrCat("SELECT COUNT(*) FROM \"", table, "\"")).getInt64();
    }
  } catch (const SQLite::Exception& e) {
    return absl::DataLossError(absl::StrCat("cannot read back the copy ", to, ": ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status PrepareFolder(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      return absl::AlreadyExistsError(absl::StrCat(dir, " exists and is not a folder"));
    }
    if (!fs::is_empty(dir, ec)) {
      return absl::AlreadyExistsError(
          absl::StrCat(dir, " is not empty: a backup never overwrites another; name a new folder"));
    }
  } else {
    SCV_RETURN_IF_ERROR(MakeDirs(dir));
  }
  if (::chmod(dir.c_str(), 0700) != 0) return Errno("cannot restrict", dir);
  return absl::OkStatus();
}

std::string Manifest(const BackupInputs& in, const BackupSummary& s) {
  std::string out = absl::StrCat(
      VersionLine("scancov-node backup"), ", ",
      absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::Now(), absl::UTCTimeZone()), "\n",
      "store snapshot: ", s.tables, " tables, ", s.rows, " rows (integrity_check ok)\n\n");
  for (const BackupFile& f : s.files) {
    absl::StrAppend(&out, f.sha256, "  ", f.name, "  ", f.bytes, " bytes  from ", f.source, "\n");
  }
  absl::StrAppend(
      &out, "\nTo restore: stop the node; copy node.db to ", in.store,
      " (remove any node.db-wal and node.db-shm beside it first) and site.secret to ", in.secret,
      ", both owned by the node's user with mode 0600; run `scancov-node --config ", in.site_file,
      " check`; start the node.\n",
      "Keep this folder as the hospital keeps keys: site.secret fixes the site's pseudonyms.\n");
  return out;
}

}  // namespace

absl::StatusOr<BackupSummary> BackupStore(const BackupInputs& in, const std::string& out_dir) {
  SCV_RETURN_IF_ERROR(PrepareFolder(out_dir));
  BackupSummary summary;
  summary.dir = out_dir;
  absl::Status status = [&]() -> absl::Status {
    SCV_RETURN_IF_ERROR(
        SnapshotStore(in.store, out_dir + "/node.db", summary.tables, summary.rows));
    SCV_RETURN_IF_ERROR(CopyPrivate(in.secret, out_dir, "site.secret"));
    SCV_RETURN_IF_ERROR(CopyPrivate(in.site_file, out_dir, "site.json"));
    for (const auto& [name, source] : {std::pair<std::string, std::string>{"node.db", in.store},
                                       {"site.secret", in.secret},
                                       {"site.json", in.site_file}}) {
      SCV_ASSIGN_OR_RETURN(BackupFile file, Describe(out_dir, name, source));
      summary.files.push_back(std::move(file));
    }
    return WritePrivateFile(out_dir + "/MANIFEST.txt", Manifest(in, summary));
  }();
  if (!status.ok()) {
    std::error_code ec;
    fs::remove_all(out_dir, ec);
    return status;
  }
  return summary;
}

std::string DescribeBackup(const BackupSummary& s) {
  std::string out = absl::StrCat("backup written to ", s.dir, " (0700, files 0600):\n");
  for (const BackupFile& f : s.files) {
    absl::StrAppend(&out, absl::StrFormat("  %-12s %12d bytes  sha256 %s\n", f.name, f.bytes,
                                          f.sha256.substr(0, 16)));
  }
  absl::StrAppend(&out, "  store: ", s.tables, " tables, ", s.rows,
                  " rows, integrity check ok; MANIFEST.txt says how to restore\n");
  return out;
}

}  // namespace scancov::node
