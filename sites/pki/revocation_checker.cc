#include "sites/pki/revocation_checker.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status_macros.h"

namespace scancov::sites {
namespace {

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

void WarnWithSpdlog(const absl::Status& status) {
  spdlog::warn("{}", std::string(status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RevocationChecker>> RevocationChecker::Open(
    std::string ca_certificate_pem, std::string crl_path, RevocationCheckerOptions options) {
  if (!options.warn) options.warn = &WarnWithSpdlog;
  if (options.clock == nullptr) options.clock = Clock::Real();
  const FileState state = Stat(crl_path);
  SCV_ASSIGN_OR_RETURN(RevocationList list, Load(crl_path, ca_certificate_pem));
  std::unique_ptr<RevocationChecker> checker(
      new RevocationChecker(std::move(ca_certificate_pem), std::move(crl_path), std::move(options),
                            std::move(list), state));
  absl::MutexLock lock(&checker->mu_);
  checker->WarnIfExpiredLocked(/*force=*/true);
  return checker;
}

RevocationChecker::RevocationChecker(std::string ca_certificate_pem, std::string crl_path,
                                     RevocationCheckerOptions options, RevocationList list,
                                     FileState state)
    : ca_certificate_pem_(std::move(ca_certificate_pem)),
      crl_path_(std::move(crl_path)),
      options_(std::move(options)),
      list_(std::move(list)),
      seen_(state) {}

RevocationChecker::FileState RevocationChecker::Stat(const std::string& path) {
  FileState state;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return state;
  state.exists = true;
  state.device = st.st_dev;
  state.inode = st.st_ino;
  state.size = st.st_size;
  state.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return state;
}

absl::StatusOr<RevocationList> RevocationChecker::Load(const std::string& path,
                                                       const std::string& ca_certificate_pem) {
  SCV_ASSIGN_OR_RETURN(std::string pem, ReadFileToString(path));
  absl::StatusOr<RevocationList> list = RevocationList::Parse(pem, ca_certificate_pem);
  if (!list.ok()) return Annotate(list.status(), path);
  return list;
}

void RevocationChecker::RefreshLocked() {
  const FileState state = Stat(crl_path_);
  if (state == seen_) return;
  seen_ = state;
  absl::StatusOr<RevocationList> fresh = Load(crl_path_, ca_certificate_pem_);
  if (!fresh.ok()) {
    options_.warn(absl::Status(
        fresh.status().code(),
        absl::StrCat("CRL ", crl_path_, " changed but cannot be used, still applying CRL ",
                     list_.crl_number(), ": ", fresh.status().message())));
    return;
  }
  if (fresh->crl_number() < list_.crl_number()) {
    options_.warn(absl::FailedPreconditionError(absl::StrCat(
        "CRL ", crl_path_, ": number ", fresh->crl_number(), " is older than CRL ",
        list_.crl_number(), " in use (a rollback?); keeping CRL ", list_.crl_number())));
    return;
  }
  list_ = *std::move(fresh);
  WarnIfExpiredLocked(/*force=*/true);
}

void RevocationChecker::WarnIfExpiredLocked(bool force) {
  const absl::Time now = options_.clock->Now();
  if (!list_.IsExpiredAt(now)) return;
  if (!force && now - last_expiry_warning_ < options_.warn_every) return;
  last_expiry_warning_ = now;
  options_.warn(absl::FailedPreconditionError(absl::StrCat(
      "CRL ", crl_path_, " (number ", list_.crl_number(), ") EXPIRED at ",
      TimeText(list_.next_update()),
      ": it is still applied, but revocations made since may be missing; publish a new one "
      "(scancov-pki crl) and copy it here")));
}

absl::Status RevocationChecker::Check(absl::string_view certificate_pem) {
  absl::MutexLock lock(&mu_);
  RefreshLocked();
  WarnIfExpiredLocked(/*force=*/false);
  return list_.CheckCertificate(certificate_pem);
}

uint64_t RevocationChecker::crl_number() {
  absl::MutexLock lock(&mu_);
  RefreshLocked();
  return list_.crl_number();
}

absl::Time RevocationChecker::next_update() {
  absl::MutexLock lock(&mu_);
  RefreshLocked();
  return list_.next_update();
}

}  // namespace scancov::sites
