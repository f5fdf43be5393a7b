#include "sites/pki/revocation_index.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace scancov::sites {
namespace {

constexpr char kTimeFormat[] = "%Y-%m-%dT%H:%M:%SZ";

bool IsHexSerial(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) || absl::ascii_islower(c)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string FormatRevocationIndex(const std::vector<RevocationRecord>& records) {
  std::string out =
      "# scancov-pki revocations: serial<TAB>revoked at (UTC)<TAB>reason<TAB>subject\n";
  for (const RevocationRecord& r : records) {
    absl::StrAppend(&out, r.revoked.serial_hex, "\t",
                    absl::FormatTime(kTimeFormat, r.revoked.revoked_at, absl::UTCTimeZone()), "\t",
                    ReasonName(r.revoked.reason), "\t", r.subject, "\n");
  }
  return out;
}

absl::StatusOr<std::vector<RevocationRecord>> ParseRevocationIndex(absl::string_view text,
                                                                   absl::string_view where) {
  std::vector<RevocationRecord> records;
  std::set<std::string> serials;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    const std::string at = absl::StrCat(where, ":", line_number, ": ");
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    if (fields.size() != 4) {
      return absl::InvalidArgumentError(at + "expected 4 tab-separated fields");
    }
    RevocationRecord record;
    if (!IsHexSerial(fields[0])) {
      return absl::InvalidArgumentError(at + "serial is not upper-case hex");
    }
    record.revoked.serial_hex = fields[0];
    std::string error;
    if (!absl::ParseTime(kTimeFormat, fields[1], absl::UTCTimeZone(), &record.revoked.revoked_at,
                         &error)) {
      return absl::InvalidArgumentError(at + "revocation time: " + error);
    }
    absl::StatusOr<RevocationReason> reason = ParseRevocationReason(fields[2]);
    if (!reason.ok())
      return absl::InvalidArgumentError(at + std::string(reason.status().message()));
    record.revoked.reason = *reason;
    record.subject = fields[3];
    if (!serials.insert(record.revoked.serial_hex).second) {
      return absl::InvalidArgumentError(at + "serial " + record.revoked.serial_hex +
                                        " recorded twice");
    }
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace scancov::sites
