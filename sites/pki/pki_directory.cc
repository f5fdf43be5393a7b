#include "sites/pki/pki_directory.h"

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/file_util.h"
#include "core/status_macros.h"
#include "sites/pki/revocation_index.h"

namespace scancov::sites {
namespace {

constexpr mode_t kKeyMode = 0600;
constexpr mode_t kCertificateMode = 0644;
constexpr mode_t kRecordMode = 0644;

bool Exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::symlink_status(path, ec));
}

// The parent directory of `path` ("." for a bare file name).
std::string ParentOf(const std::string& path) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

absl::Status RefuseIfExists(const std::string& path) {
  if (Exists(path)) {
    return absl::AlreadyExistsError(path + ": already exists (use --force to replace)");
  }
  return absl::OkStatus();
}

}  // namespace

PkiDirectory::PkiDirectory(std::string root) : root_(std::move(root)) {}

std::string PkiDirectory::CaCertificatePath() const { return root_ + "/ca.crt"; }
std::string PkiDirectory::CaKeyPath() const { return root_ + "/ca.key"; }

std::string PkiDirectory::RoleDirectory(Role role) const {
  return absl::StrCat(root_, "/", RoleName(role), "s");
}

std::string PkiDirectory::RevocationIndexPath() const { return root_ + "/revoked.txt"; }
std::string PkiDirectory::CrlNumberPath() const { return root_ + "/crlnumber"; }
std::string PkiDirectory::CrlPath() const { return root_ + "/crl.pem"; }

std::string PkiDirectory::CertificatePath(const PeerIdentity& identity) const {
  return absl::StrCat(RoleDirectory(identity.role), "/", identity.id, ".crt");
}

std::string PkiDirectory::KeyPath(const PeerIdentity& identity) const {
  return absl::StrCat(RoleDirectory(identity.role), "/", identity.id, ".key");
}

absl::Status PkiDirectory::WritePair(const std::string& cert_path, const std::string& key_path,
                                     const CertificateAndKey& pair, Overwrite overwrite) const {
  if (overwrite == Overwrite::kRefuse) {
    SCV_RETURN_IF_ERROR(RefuseIfExists(key_path));
    SCV_RETURN_IF_ERROR(RefuseIfExists(cert_path));
  }
  SCV_RETURN_IF_ERROR(WriteFileWithMode(key_path, pair.private_key_pem, kKeyMode, overwrite));
  return WriteFileWithMode(cert_path, pair.certificate_pem, kCertificateMode, overwrite);
}

absl::StatusOr<CertificateAndKey> PkiDirectory::CreateCa(const CaOptions& options,
                                                         Overwrite overwrite) const {
  if (overwrite == Overwrite::kRefuse) {
    // Checked before the key is generated so that a refusal is immediate and writes nothing.
    SCV_RETURN_IF_ERROR(RefuseIfExists(CaKeyPath()));
    SCV_RETURN_IF_ERROR(RefuseIfExists(CaCertificatePath()));
  }
  SCV_ASSIGN_OR_RETURN(CertificateAndKey ca, CreateCertificateAuthority(options));
  SCV_RETURN_IF_ERROR(MakeDirs(root_));
  SCV_RETURN_IF_ERROR(WritePair(CaCertificatePath(), CaKeyPath(), ca, overwrite));
  return ca;
}

absl::StatusOr<CertificateAndKey> PkiDirectory::LoadCa() const {
  CertificateAndKey ca;
  SCV_ASSIGN_OR_RETURN(ca.certificate_pem, ReadFileToString(CaCertificatePath()));
  SCV_ASSIGN_OR_RETURN(ca.private_key_pem, ReadPrivateKeyFile(CaKeyPath()));
  return ca;
}

absl::StatusOr<CertificateAndKey> PkiDirectory::Issue(const IssueOptions& options,
                                                      Overwrite overwrite) const {
  SCV_RETURN_IF_ERROR(ValidateId(options.id));  // before the id becomes part of a path
  const PeerIdentity identity{options.role, options.id};
  if (overwrite == Overwrite::kRefuse) {
    SCV_RETURN_IF_ERROR(RefuseIfExists(KeyPath(identity)));
    SCV_RETURN_IF_ERROR(RefuseIfExists(CertificatePath(identity)));
  }
  SCV_ASSIGN_OR_RETURN(CertificateAndKey ca, LoadCa());
  SCV_ASSIGN_OR_RETURN(CertificateAndKey issued, IssueCertificate(ca, options));
  SCV_RETURN_IF_ERROR(MakeDirs(RoleDirectory(options.role)));
  SCV_RETURN_IF_ERROR(WritePair(CertificatePath(identity), KeyPath(identity), issued, overwrite));
  return issued;
}

absl::StatusOr<SignedRequest> PkiDirectory::Sign(absl::string_view request_pem,
                                                 const SignOptions& options,
                                                 Overwrite overwrite) const {
  SCV_RETURN_IF_ERROR(ValidateId(options.id));  // before the id becomes part of a path
  const PeerIdentity identity{options.role, options.id};
  if (overwrite == Overwrite::kRefuse)
    SCV_RETURN_IF_ERROR(RefuseIfExists(CertificatePath(identity)));
  SCV_ASSIGN_OR_RETURN(CertificateAndKey ca, LoadCa());
  SCV_ASSIGN_OR_RETURN(SignedRequest signed_request,
                       SignCertificateRequest(ca, request_pem, options));
  SCV_RETURN_IF_ERROR(MakeDirs(RoleDirectory(options.role)));
  SCV_RETURN_IF_ERROR(WriteFileWithMode(CertificatePath(identity), signed_request.certificate_pem,
                                        kCertificateMode, overwrite));
  return signed_request;
}

absl::StatusOr<std::vector<RevocationRecord>> PkiDirectory::Revocations() const {
  if (!Exists(RevocationIndexPath())) return std::vector<RevocationRecord>();
  SCV_ASSIGN_OR_RETURN(std::string text, ReadFileToString(RevocationIndexPath()));
  return ParseRevocationIndex(text, RevocationIndexPath());
}

absl::StatusOr<RevocationRecord> PkiDirectory::Revoke(absl::string_view certificate_pem,
                                                      RevocationReason reason,
                                                      absl::Time now) const {
  SCV_ASSIGN_OR_RETURN(std::string ca_pem, ReadFileToString(CaCertificatePath()));
  SCV_ASSIGN_OR_RETURN(RevocationRecord record,
                       RevocationRecordFor(certificate_pem, ca_pem, reason, now));
  SCV_ASSIGN_OR_RETURN(std::vector<RevocationRecord> records, Revocations());
  for (const RevocationRecord& r : records) {
    if (r.revoked.serial_hex == record.revoked.serial_hex) {
      return absl::AlreadyExistsError(absl::StrCat("certificate serial ", r.revoked.serial_hex,
                                                   " (", r.subject, ") is already revoked (",
                                                   ReasonName(r.revoked.reason), ")"));
    }
  }
  records.push_back(record);
  SCV_RETURN_IF_ERROR(WriteFileWithMode(RevocationIndexPath(), FormatRevocationIndex(records),
                                        kRecordMode, Overwrite::kAllow));
  return record;
}

absl::StatusOr<RevocationList> PkiDirectory::WriteCrl(const CrlOptions& options) const {
  SCV_ASSIGN_OR_RETURN(CertificateAndKey ca, LoadCa());
  SCV_ASSIGN_OR_RETURN(std::vector<RevocationRecord> records, Revocations());
  uint64_t last = 0;
  if (Exists(CrlNumberPath())) {
    SCV_ASSIGN_OR_RETURN(std::string text, ReadFileToString(CrlNumberPath()));
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &last)) {
      return absl::InvalidArgumentError(CrlNumberPath() + ": not a number");
    }
  }
  CrlOptions numbered = options;
  numbered.crl_number = last + 1;
  std::vector<RevokedCertificate> revoked;
  for (const RevocationRecord& r : records) revoked.push_back(r.revoked);
  SCV_ASSIGN_OR_RETURN(std::string pem, CreateCrl(ca, revoked, numbered));
  // The number first: a crash in between skips a number instead of reusing one.
  SCV_RETURN_IF_ERROR(WriteFileWithMode(CrlNumberPath(), absl::StrCat(numbered.crl_number, "\n"),
                                        kRecordMode, Overwrite::kAllow));
  SCV_RETURN_IF_ERROR(WriteFileWithMode(CrlPath(), pem, kCertificateMode, Overwrite::kAllow));
  return RevocationList::Parse(pem, ca.certificate_pem);
}

absl::StatusOr<RequestAndKey> WriteKeyAndRequest(const RequestOptions& options,
                                                 const std::string& key_path,
                                                 const std::string& request_path,
                                                 Overwrite overwrite) {
  if (key_path == request_path) {
    return absl::InvalidArgumentError("the key and the request must be different files");
  }
  if (overwrite == Overwrite::kRefuse) {
    SCV_RETURN_IF_ERROR(RefuseIfExists(key_path));
    SCV_RETURN_IF_ERROR(RefuseIfExists(request_path));
  }
  SCV_ASSIGN_OR_RETURN(RequestAndKey made, CreateCertificateRequest(options));
  SCV_RETURN_IF_ERROR(MakeDirs(ParentOf(key_path)));
  SCV_RETURN_IF_ERROR(MakeDirs(ParentOf(request_path)));
  SCV_RETURN_IF_ERROR(WriteFileWithMode(key_path, made.private_key_pem, kKeyMode, overwrite));
  SCV_RETURN_IF_ERROR(
      WriteFileWithMode(request_path, made.request_pem, kCertificateMode, overwrite));
  return made;
}

}  // namespace scancov::sites
