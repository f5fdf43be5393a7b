#include "sites/pki/pki_directory.h"

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status_macros.h"

namespace scancov::sites {
namespace {

constexpr mode_t kKeyMode = 0600;
constexpr mode_t kCertificateMode = 0644;

absl::Status RefuseIfExists(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(path, ec))) {
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

}  // namespace scancov::sites
