// `scancov-node check`: the preflight a hospital's data steward runs before the node joins the
// federation. Each check is a small function that looks at one thing (the site file, the
// certificate and key, the store, the aggregator, the machine) and returns one CheckResult: a
// status, the check's name, and what was found or what to do. Nothing here changes the node's
// state on the aggregator: the aggregator check makes read-only authenticated calls only.
//
// Details name files, modes, dates, host names and certificate subjects; never a patient
// identifier (no check reads the site's data).
//
// Thread safety: the functions share no state; each may be called from any thread.
#ifndef SCANCOV_NODE_PREFLIGHT_H_
#define SCANCOV_NODE_PREFLIGHT_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "node/clock_skew.h"
#include "sites/config/site_config.h"

namespace scancov::node {

enum class CheckStatus { kOk, kWarn, kFail };

// "ok", "warn", "FAIL" (upper case so that a failure stands out in a terminal).
absl::string_view CheckStatusName(CheckStatus status);

struct CheckResult {
  std::string check;  // short stable name, e.g. "certificate-chain"
  CheckStatus status = CheckStatus::kOk;
  std::string detail;  // what was found; for warn and FAIL also what to do
};

// The exit codes of `scancov-node check` (its --help says the same).
inline constexpr int kPreflightExitOk = 0;      // every check ok or warn
inline constexpr int kPreflightExitFailed = 1;  // at least one FAIL (as `ledger --check`)

struct PreflightOptions {
  absl::Time now = absl::InfinitePast();  // InfinitePast: absl::Now() when run
  // A certificate that expires within this is a warning.
  absl::Duration expiry_warning = absl::Hours(30 * 24);
  // Less free space than this where the store lives is a warning.
  uint64_t min_free_bytes = uint64_t{10} << 30;
  // The whole aggregator check (connect, handshake, call) gives up after this long.
  absl::Duration aggregator_timeout = absl::Seconds(10);
  // The compute device the node would use, from nn::DeviceInfo() ("cpu" or "cuda:<name>"),
  // given by the caller so that LibTorch stays out of this library. Empty: not known.
  std::string device_info;
  // Whether that device computes bfloat16 natively (nn::NativeBFloat16: what `--precision auto`
  // of scancov-score picks), shown on the compute line. Unset: not known.
  std::optional<bool> bf16_native;
  // Where to read the libraries mapped into this process (the BLAS check).
  std::string proc_maps = "/proc/self/maps";
};

// 1. The site file parses and has every required field (the error names the file and field).
CheckResult CheckSiteFile(const std::string& path, sites::SiteConfig* config);

// 2. The site certificate verifies against the site file's CA (X509_verify_cert; validity
// dates are the next check's), and the private key belongs to the certificate.
CheckResult CheckCertificateChain(const sites::SiteConfig& config);
CheckResult CheckKeyMatchesCertificate(const sites::SiteConfig& config);

// 3. FAIL when the site certificate is expired or not yet valid at `now`; warn when it expires
// within `warn_within` (the date is shown either way).
CheckResult CheckCertificateValidity(const sites::SiteConfig& config, absl::Time now,
                                     absl::Duration warn_within);

// 4. The certificate names this site: CN equals the site file's site_id, role (OU) "site".
CheckResult CheckCertificateIdentity(const sites::SiteConfig& config);

// 5. The private key file is readable by its owner only (no group or other bits, as ssh and
// scancov-pki demand); a symbolic link is reported with its target.
CheckResult CheckKeyPermissions(const sites::SiteConfig& config);

// 6. The store's folder exists (or is created, as the node would on its first run) and a file
// can be written and removed there; then the free space on that file system.
CheckResult CheckStoreWritable(const sites::SiteConfig& config);
CheckResult CheckFreeSpace(const sites::SiteConfig& config, uint64_t min_free_bytes);

// The validity window of the certificate the aggregator presented in the TLS handshake.
struct PeerCertificateWindow {
  std::string subject;
  absl::Time not_before;
  absl::Time not_after;
};

// What the aggregator check learnt about the aggregator's clock, for the clock check.
struct AggregatorClock {
  // The aggregator's certificate window, whenever the handshake got that far.
  std::optional<PeerCertificateWindow> certificate;
  // The skew measured with the ServerTime call; unset when the call was not made or failed,
  // or the aggregator is older than it (UNIMPLEMENTED, or a server time of 0).
  std::optional<ClockSkew> skew;
};

// 8. The aggregator: its host resolves, it accepts a TCP connection, its certificate verifies
// against the site's CA for the name the node dials (aggregator_tls_name or the host), it
// accepts the site's certificate, and it answers an authenticated call for this site
// (ServerTime, which also gives its clock). Each way to fail has its own detail (DNS, refused,
// timed out, not our CA, host name, refused our certificate, site not enrolled or disabled).
// `seen`, when not null, receives what the check learnt about the aggregator's clock.
CheckResult CheckAggregator(const sites::SiteConfig& config, absl::Duration timeout,
                            AggregatorClock* seen);

// 7. The local clock against the aggregator's. With a measured skew (server time - local
// time, half the round trip taken off): FAIL beyond kMaxClockSkew, warn beyond
// kClockSkewWarning, ok otherwise, the skew and round trip shown. An aggregator older than
// ServerTime sends no time; the evidence is then its certificate window, as before: a local
// clock before its notBefore (or after its notAfter) is certainly wrong (warn). Warn when the
// aggregator was not reached. `now` is the local time shown (and compared with the window).
CheckResult CheckClock(const AggregatorClock& aggregator, absl::Time now);

// 9. What the node computes on: the site file's device against `device_info` (FAIL when the
// site file asks for cuda and there is none), the CPU cores and, when known, whether inference
// can run in bfloat16 at full speed.
CheckResult CheckCompute(const sites::SiteConfig& config, const std::string& device_info,
                         unsigned cpu_cores, std::optional<bool> bf16_native = std::nullopt);

// The BLAS libraries mapped into the process, from /proc/self/maps text (file names, deduped,
// in order of appearance): libblas, libopenblas, libmkl, libblis, libcblas, libatlas, libflexiblas.
std::vector<std::string> BlasLibrariesInMaps(absl::string_view maps);
CheckResult CheckBlas(const std::string& proc_maps_path);

// Every check in order (the site file first; without a usable site file the checks that need
// it are not run, and the site file's FAIL says so).
std::vector<CheckResult> RunPreflight(const std::string& site_file,
                                      const PreflightOptions& options);

// One line per check: "ok   <check>  <detail>" (status padded to 4, name to the longest).
std::string PreflightText(const std::vector<CheckResult>& results);
// A JSON array of {"check", "status", "detail"}, status "ok", "warn" or "fail".
std::string PreflightJson(const std::vector<CheckResult>& results);
// kPreflightExitFailed when any result is a FAIL, else kPreflightExitOk.
int PreflightExitCode(const std::vector<CheckResult>& results);

// The whole subcommand: runs the checks, writes text or JSON to `out`, returns the exit code.
int RunCheckCommand(const std::string& site_file, const PreflightOptions& options, bool json,
                    std::ostream& out);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_PREFLIGHT_H_
