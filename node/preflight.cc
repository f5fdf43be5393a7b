// The local checks of `scancov-node check` (site file, key file, store, disk, compute, BLAS),
// the order they run in and how they are printed. The certificate checks are in
// preflight_certs.cc, the aggregator and clock checks in preflight_aggregator.cc.
#include "node/preflight.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/file_util.h"

namespace scancov::node {
namespace {

namespace fs = std::filesystem;

CheckResult Fail(std::string check, std::string detail) {
  return {std::move(check), CheckStatus::kFail, std::move(detail)};
}

std::string Gib(uint64_t bytes) {
  return absl::StrFormat("%.1f GiB", static_cast<double>(bytes) / (uint64_t{1} << 30));
}

std::string StoreFolder(const sites::SiteConfig& config) {
  const fs::path folder = fs::path(config.store).parent_path();
  return folder.empty() ? "." : folder.string();
}

// The nearest folder at or above `path` that exists (statvfs needs one).
std::string ExistingAncestor(const std::string& path) {
  fs::path p(path);
  std::error_code ec;
  while (!p.empty() && !fs::is_directory(p, ec) && p.has_parent_path() && p.parent_path() != p) {
    p = p.parent_path();
  }
  return p.empty() ? "." : p.string();
}

// Writes, flushes and removes a small file in `folder`; the failure, if any.
std::optional<std::string> WriteProbe(const std::string& folder) {
  const std::string probe = absl::StrCat(folder, "/.scancov-check-", getpid());
  const int fd = open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::StrCat("cannot create a file there: ", std::strerror(errno));
  const bool written = write(fd, "ok\n", 3) == 3 && fsync(fd) == 0;
  const int write_errno = errno;
  close(fd);
  if (unlink(probe.c_str()) != 0) {
    return absl::StrCat("cannot remove ", probe, ": ", std::strerror(errno));
  }
  if (!written) return absl::StrCat("cannot write a file there: ", std::strerror(write_errno));
  return std::nullopt;
}

const char* const kBlasPrefixes[] = {"libblas",      "libopenblas", "libmkl",
                                     "libblis",      "libcblas",    "libatlas",
                                     "libflexiblas", "libsatlas",   "libtatlas"};

}  // namespace

absl::string_view CheckStatusName(CheckStatus status) {
  switch (status) {
    case CheckStatus::kOk:
      return "ok";
    case CheckStatus::kWarn:
      return "warn";
    case CheckStatus::kFail:
      return "FAIL";
  }
  return "?";
}

CheckResult CheckSiteFile(const std::string& path, sites::SiteConfig* config) {
  absl::StatusOr<sites::SiteConfig> loaded = sites::LoadSiteConfig(path);
  if (!loaded.ok()) {
    return Fail("site-file", absl::StrCat(loaded.status().message(),
                                          " (the other checks need a usable site file)"));
  }
  *config = *std::move(loaded);
  return {"site-file", CheckStatus::kOk,
          absl::StrCat(path, ": site '", config->site_id, "', aggregator ", config->aggregator)};
}

CheckResult CheckKeyPermissions(const sites::SiteConfig& config) {
  const std::string check = "key-permissions";
  struct stat link_st;
  if (lstat(config.key.c_str(), &link_st) != 0) {
    return Fail(check,
                absl::StrCat("cannot stat tls.key (", config.key, "): ", std::strerror(errno)));
  }
  std::string target;
  struct stat st = link_st;
  if (S_ISLNK(link_st.st_mode)) {
    std::error_code ec;
    target = fs::canonical(config.key, ec).string();
    if (ec || stat(config.key.c_str(), &st) != 0) {
      return Fail(check, absl::StrCat(config.key, " is a symbolic link to a missing file"));
    }
  }
  const unsigned mode = st.st_mode & 07777;
  const std::string file = target.empty() ? config.key : target;
  if ((mode & 077) != 0) {
    return Fail(check, absl::StrFormat("%s has mode %04o: group or others can read or write the "
                                       "site's private key; run: chmod 600 %s",
                                       file, mode, file));
  }
  if (!target.empty()) {
    return {check, CheckStatus::kWarn,
            absl::StrFormat("%s is a symbolic link to %s (mode %04o); keep the key itself in the "
                            "node's state folder",
                            config.key, target, mode)};
  }
  return {check, CheckStatus::kOk, absl::StrFormat("%s: mode %04o, owner only", config.key, mode)};
}

CheckResult CheckStoreWritable(const sites::SiteConfig& config) {
  const std::string check = "store";
  const std::string folder = StoreFolder(config);
  std::error_code ec;
  bool created = false;
  if (!fs::exists(folder, ec)) {
    if (absl::Status made = MakeDirs(folder); !made.ok()) {
      return Fail(check, absl::StrCat("the store's folder ", folder, " (store: ", config.store,
                                      ") cannot be created: ", made.message(),
                                      "; create it, writable by the node's user"));
    }
    created = true;
  } else if (!fs::is_directory(folder, ec)) {
    return Fail(check, absl::StrCat("the store's folder ", folder, " (store: ", config.store,
                                    ") is not a folder"));
  }
  if (std::optional<std::string> failed = WriteProbe(folder)) {
    return Fail(check, absl::StrCat("the store's folder ", folder, ": ", *failed,
                                    "; the node's user needs write access there"));
  }
  if (fs::exists(config.store, ec) && access(config.store.c_str(), R_OK | W_OK) != 0) {
    return Fail(check, absl::StrCat("the store ", config.store,
                                    " exists but is not readable and "
                                    "writable by this user: ",
                                    std::strerror(errno)));
  }
  return {check, CheckStatus::kOk,
          absl::StrCat(folder, created ? " created and writable" : " is writable")};
}

CheckResult CheckFreeSpace(const sites::SiteConfig& config, uint64_t min_free_bytes) {
  const std::string check = "disk-space";
  // The store and the cache of decoded volumes, once per file system.
  std::vector<std::string> parts;
  std::vector<dev_t> seen;
  bool low = false;
  for (const std::string& path : {StoreFolder(config), config.cache_dir}) {
    const std::string folder = ExistingAncestor(path);
    struct stat st;
    struct statvfs vfs;
    if (stat(folder.c_str(), &st) != 0 || statvfs(folder.c_str(), &vfs) != 0) {
      return Fail(check, absl::StrCat("cannot measure the free space at ", folder, ": ",
                                      std::strerror(errno)));
    }
    if (std::find(seen.begin(), seen.end(), st.st_dev) != seen.end()) continue;
    seen.push_back(st.st_dev);
    const uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    low = low || free_bytes < min_free_bytes;
    parts.push_back(absl::StrCat(Gib(free_bytes), " free at ", folder));
  }
  const std::string found = absl::StrJoin(parts, ", ");
  if (low) {
    return {check, CheckStatus::kWarn,
            absl::StrCat(found, ", below ", Gib(min_free_bytes),
                         " (--min-free-gib); imported CT volumes and their cache need room: free "
                         "some, or move store and cache_dir")};
  }
  return {check, CheckStatus::kOk, absl::StrCat(found, " (at least ", Gib(min_free_bytes), ")")};
}

CheckResult CheckCompute(const sites::SiteConfig& config, const std::string& device_info,
                         unsigned cpu_cores, std::optional<bool> bf16_native) {
  const std::string check = "compute";
  std::string cores = absl::StrCat(cpu_cores, " CPU cores");
  if (bf16_native.has_value()) {
    absl::StrAppend(&cores, *bf16_native ? "; bfloat16 inference native (--precision auto uses it)"
                                         : "; no native bfloat16 (inference in float32)");
  }
  if (device_info.empty()) {
    return {check, CheckStatus::kWarn,
            absl::StrCat(cores, "; whether a CUDA GPU is usable was not asked")};
  }
  const bool cuda = absl::StartsWith(device_info, "cuda");
  if (config.device == "cuda" && !cuda) {
    return Fail(check, absl::StrCat("the site file asks for device 'cuda' but LibTorch finds no "
                                    "usable CUDA GPU (",
                                    cores, "); set device to auto or cpu, or fix the GPU driver"));
  }
  if (config.device == "cpu") {
    return {check, CheckStatus::kOk,
            absl::StrCat("device cpu (site file), ", cores,
                         cuda ? absl::StrCat("; ", device_info, " is present but unused") : "")};
  }
  return {check, CheckStatus::kOk,
          absl::StrCat("device ", config.device, " -> ", device_info, ", ", cores,
                       cuda ? "" : " (no CUDA GPU: training runs on the CPU)")};
}

std::vector<std::string> BlasLibrariesInMaps(absl::string_view maps) {
  std::vector<std::string> found;
  for (absl::string_view line : absl::StrSplit(maps, '\n')) {
    const size_t slash = line.find('/');
    if (slash == absl::string_view::npos) continue;
    const std::string path(line.substr(slash));
    const std::string name = fs::path(path).filename().string();
    for (const char* prefix : kBlasPrefixes) {
      if (absl::StartsWith(name, prefix) &&
          std::find(found.begin(), found.end(), path) == found.end()) {
        found.push_back(path);
      }
    }
  }
  return found;
}

CheckResult CheckBlas(const std::string& proc_maps_path) {
  const std::string check = "blas";
  absl::StatusOr<std::string> maps = ReadFileToString(proc_maps_path);
  if (!maps.ok()) {
    return {check, CheckStatus::kWarn,
            absl::StrCat("cannot tell which BLAS this process uses: ", maps.status().message())};
  }
  const std::vector<std::string> libraries = BlasLibrariesInMaps(*maps);
  if (libraries.empty()) {
    return {check, CheckStatus::kOk, "no BLAS library loaded (LibTorch's own CPU kernels)"};
  }
  const std::string list = absl::StrJoin(libraries, ", ");
  // Debian's reference BLAS (libblas3) lives in .../blas/; an optimised one in its own folder.
  for (const std::string& library : libraries) {
    if (absl::StrContains(library, "/blas/libblas")) {
      return {check, CheckStatus::kWarn,
              absl::StrCat(list,
                           ": the reference BLAS, several times slower than an optimised "
                           "one; install libopenblas0 (or select it with "
                           "update-alternatives)")};
    }
  }
  return {check, CheckStatus::kOk, list};
}

std::vector<CheckResult> RunPreflight(const std::string& site_file,
                                      const PreflightOptions& options) {
  const absl::Time now = options.now == absl::InfinitePast() ? absl::Now() : options.now;
  std::vector<CheckResult> results;
  sites::SiteConfig config;
  results.push_back(CheckSiteFile(site_file, &config));
  if (results.back().status == CheckStatus::kFail) return results;
  results.push_back(CheckCertificateChain(config));
  results.push_back(CheckKeyMatchesCertificate(config));
  results.push_back(CheckCertificateValidity(config, now, options.expiry_warning));
  results.push_back(CheckCertificateIdentity(config));
  results.push_back(CheckKeyPermissions(config));
  results.push_back(CheckStoreWritable(config));
  results.push_back(CheckFreeSpace(config, options.min_free_bytes));
  AggregatorClock aggregator_clock;
  results.push_back(CheckAggregator(config, options.aggregator_timeout, &aggregator_clock));
  results.push_back(CheckClock(aggregator_clock, now));
  results.push_back(CheckCompute(config, options.device_info,
                                 std::max(1u, std::thread::hardware_concurrency()),
                                 options.bf16_native));
  results.push_back(CheckBlas(options.proc_maps));
  return results;
}

std::string PreflightText(const std::vector<CheckResult>& results) {
  size_t width = 0;
  for (const CheckResult& r : results) width = std::max(width, r.check.size());
  std::string out;
  for (const CheckResult& r : results) {
    absl::StrAppend(&out, absl::StrFormat("%-4s  %-*s  %s\n", CheckStatusName(r.status),
                                          static_cast<int>(width), r.check, r.detail));
  }
  return out;
}

std::string PreflightJson(const std::vector<CheckResult>& results) {
  nlohmann::json array = nlohmann::json::array();
  for (const CheckResult& r : results) {
    array.push_back({{"check", r.check},
                     {"status", r.status == CheckStatus::kOk     ? "ok"
                                : r.status == CheckStatus::kWarn ? "warn"
                                                                 : "fail"},
                     {"detail", r.detail}});
  }
  return array.dump(2) + "\n";
}

int PreflightExitCode(const std::vector<CheckResult>& results) {
  for (const CheckResult& r : results) {
    if (r.status == CheckStatus::kFail) return kPreflightExitFailed;
  }
  return kPreflightExitOk;
}

int RunCheckCommand(const std::string& site_file, const PreflightOptions& options, bool json,
                    std::ostream& out) {
  const std::vector<CheckResult> results = RunPreflight(site_file, options);
  out << (json ? PreflightJson(results) : PreflightText(results));
  return PreflightExitCode(results);
}

}  // namespace scancov::node
