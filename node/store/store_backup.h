// A consistent copy of what a site cannot rebuild: the node's store (patients' pseudonymised
// admission data and CT features, approvals, the egress ledger, the privacy budgets) and the
// pseudonymisation secret (without it, a re-imported export gets other pseudonyms and splits).
//
// The store is in WAL mode: its recent writes live in node.db-wal until a checkpoint, so copying
// node.db alone, or copying it while the node writes, loses or tears them. The copy is taken
// with `VACUUM INTO` in one read transaction: a snapshot of every committed write, taken while
// the node runs (it does not block the node's writers), then checked: the copy opens, passes
// `PRAGMA integrity_check` and holds every table of the store.
//
// What it writes, into a new folder (0700; each file 0600, as they hold the site's secrets):
//   node.db       the store
//   site.secret   the pseudonymisation secret, byte for byte
//   site.json     the site file, for reference
//   MANIFEST.txt  when, from where, each file's bytes and SHA-256, and how to restore
// Not copied: the TLS key (make a new key and request when it is lost; `scancov-pki request`),
// the volume cache (rebuilt from the PACS export by import-dicom), results kept for an answer
// (their task is sent again).
#ifndef SCANCOV_NODE_STORE_STORE_BACKUP_H_
#define SCANCOV_NODE_STORE_STORE_BACKUP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace scancov::node {

struct BackupFile {
  std::string name;    // in the backup folder
  std::string source;  // what it copies
  int64_t bytes = 0;
  std::string sha256;  // hex
};

struct BackupSummary {
  std::string dir;
  std::vector<BackupFile> files;
  int64_t tables = 0;
  int64_t rows = 0;  // in all tables of the copy
};

struct BackupInputs {
  std::string store;      // the store's path (site file "store")
  std::string secret;     // site file "secret"
  std::string site_file;  // the site file itself
};

// Writes the backup into `out_dir`, which must not exist or be an empty folder (a backup never
// overwrites another). On failure the partial folder is removed and the error names the file.
absl::StatusOr<BackupSummary> BackupStore(const BackupInputs& in, const std::string& out_dir);

// The human-readable lines `scancov-node backup` prints.
std::string DescribeBackup(const BackupSummary& summary);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_STORE_STORE_BACKUP_H_
