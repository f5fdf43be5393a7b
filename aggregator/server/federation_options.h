// The values that configure and identify calls to the Federation (federation.h): round and task
// states, the caller, the options, and what an upload may carry.
//
// Thread safety: plain values.
#ifndef SCANCOV_AGGREGATOR_SERVER_FEDERATION_OPTIONS_H_
#define SCANCOV_AGGREGATOR_SERVER_FEDERATION_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "aggregator/server/study_logic.h"
#include "core/env.h"
#include "core/version.h"
#include "protocol/scancov.pb.h"

namespace scancov::aggregator {

// Round and task states, as stored and as sent in SiteRoundStatus / RoundStatus.
inline constexpr char kRoundOpen[] = "open";
inline constexpr char kRoundClosed[] = "closed";
// The id of the model a study's `round` produced ("<study>/c<round>").
std::string CheckpointId(const std::string& study_id, uint32_t round);
inline constexpr char kTaskPending[] = "pending";
inline constexpr char kTaskIssued[] = "issued";
inline constexpr char kTaskDone[] = "done";
inline constexpr char kTaskExpired[] = "expired";
inline constexpr char kTaskFailed[] = "failed";  // the site could not do it, or denied the study
inline constexpr char kTaskCancelled[] = "cancelled";  // its study was aborted (AbortStudy)

struct Caller {
  enum class Role { kSite, kCoordinator };
  Role role = Role::kSite;
  std::string id;
  // The certificate the caller presented over mutual TLS (PEM); empty in-process. Secure
  // aggregation hands it to the other sites, which check it against the consortium CA.
  std::string certificate_pem = {};
};

struct FederationOptions {
  Clock* clock = Clock::Real();
  // How long an idle node is told to wait before pulling again.
  absl::Duration wait = absl::Seconds(2);
  std::string aggregator_version = Version();  // core/version.h
  // The study kinds this aggregator runs (aggregator/studies/registry.h: AllStudyLogics());
  // must outlive the Federation. Without it every CreateStudy is refused.
  const StudyLogicRegistry* studies = nullptr;
  // The deadline of a round whose spec sets none (round_timeout_s = 0).
  absl::Duration default_round_timeout = absl::Hours(24);
  // How often nodes send Heartbeat while a task runs (sent to them at Register).
  absl::Duration heartbeat = absl::Seconds(15);
  // A site not heard from for this long is shown offline and not waited for past a deadline.
  absl::Duration offline_after = absl::Seconds(60);
  // The longest PullTask holds a call open (long poll).
  absl::Duration max_long_poll = absl::Seconds(30);
  // Training studies whose spec sets no max_samples_per_site.
  uint64_t default_max_samples_per_site = 1'000'000;
  // The models (and strategy states) of the last this many rounds of each study are kept; older
  // ones are deleted when a round closes (0: every round's). The final model is always kept.
  uint32_t keep_checkpoints = 3;
  // Secure aggregation: how long a phase waits for the last sites once `threshold` have sent
  // (aggregator/server/secagg_rounds.h); the study's wait_after_min_s when it sets one.
  absl::Duration secagg_phase_wait = absl::Seconds(60);
  // Tests: runs at the start of every fold of an update into a round's running aggregate,
  // without the federation's lock and before the aggregate's own (to make a fold slow, or to
  // watch it).
  std::function<void(const std::string& task_id)> before_fold;
};

// Times a round's deadline moves because a site holding a task is alive and working on it.
inline constexpr int kMaxDeadlineExtensions = 3;

// What an upload may carry, decided from its header before any weights are read.
struct UploadPlan {
  // Set: answer this at once (the same result again) without reading the rest.
  std::optional<v1::UploadResponse> answer;
  // Set: the weights must have exactly this layout (the round's model), checked on the manifest.
  std::optional<v1::WeightsManifest> expected_layout;
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_FEDERATION_OPTIONS_H_
