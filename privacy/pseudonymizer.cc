#include "privacy/pseudonymizer.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/sha256.h"

namespace scancov::privacy {
namespace {

constexpr size_t kSecretBytes = 32;
constexpr char kDomain[] = "scancov-patient-v1";

absl::Status CreateSecret(const std::string& path) {
  unsigned char secret[kSecretBytes];
  if (RAND_bytes(secret, sizeof secret) != 1) {
    return absl::InternalError(path + ": OpenSSL RAND_bytes failed");
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot create site secret: ", std::strerror(errno)));
  }
  const ssize_t written = ::write(fd, secret, sizeof secret);
  ::close(fd);
  if (written != static_cast<ssize_t>(sizeof secret)) {
    return absl::DataLossError(path + ": short write of site secret");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Pseudonymizer> Pseudonymizer::FromSecretFile(const std::string& secret_path) {
  struct stat st;
  if (::stat(secret_path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return absl::PermissionDeniedError(
          absl::StrCat(secret_path, ": cannot stat site secret: ", std::strerror(errno)));
    }
    absl::Status created = CreateSecret(secret_path);
    if (!created.ok()) return created;
    if (::stat(secret_path.c_str(), &st) != 0) {
      return absl::InternalError(secret_path + ": secret vanished after creation");
    }
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(secret_path +
                                       ": site secret is readable by group or others; "
                                       "chmod 600 it");
  }
  absl::StatusOr<std::string> secret = ReadFileToString(secret_path);
  if (!secret.ok()) return secret.status();
  if (secret->size() < kSecretBytes) {
    return absl::InvalidArgumentError(absl::StrCat(secret_path, ": site secret has ",
                                                   secret->size(), " bytes, need ", kSecretBytes));
  }
  return Pseudonymizer(std::move(*secret));
}

std::string Pseudonymizer::Pseudonym(absl::string_view identifier) const {
  std::string message(kDomain, sizeof kDomain);  // includes the NUL separator
  const absl::string_view trimmed = absl::StripAsciiWhitespace(identifier);
  message.append(trimmed.data(), trimmed.size());
  return ToHex(HmacSha256(secret_, message)).substr(0, 32);
}

uint64_t Pseudonymizer::SplitKey() const {
  const std::string mac = HmacSha256(secret_, "scancov:row-split:v1");
  uint64_t key = 0;
  for (int i = 0; i < 8; ++i) key = (key << 8) | static_cast<unsigned char>(mac[i]);
  return key;
}

}  // namespace scancov::privacy
