// The audit log's hash chain, shared by the aggregator that writes it and the coordinator that
// verifies it (scancov-coord audit). Each entry's hash is the SHA-256 (hex) of its predecessor's
// hash and of the entry's own fields in a fixed, length-prefixed encoding, so changing, removing
// or reordering any entry changes every hash after it. What a chain cannot show by itself is a
// log cut short at its end: a reader who records the head hash (ReadAuditResponse.head_hash) and
// compares it later detects that too.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_AUDIT_H_
#define SCANCOV_PROTOCOL_AUDIT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "protocol/scancov.pb.h"

namespace scancov::protocol {

// The prev_hash of the first entry.
inline constexpr char kAuditGenesis[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The hash `entry` must carry (over entry.prev_hash and every field but hash).
std::string AuditHash(const v1::AuditEntry& entry);

// Checks that `entries` (consecutive seq, oldest first) chain from `prev_hash` and that every
// hash is right. DataLoss naming the first entry that does not verify, and why.
absl::Status VerifyAuditChain(const std::vector<v1::AuditEntry>& entries,
                              const std::string& prev_hash);

}  // namespace scancov::protocol

#endif  // SCANCOV_PROTOCOL_AUDIT_H_
