// Test-only: the aggregator's side of the SecAgg RPC, emulated over one
// privacy::secagg::SecAggServer shared by every site of a test, and a FederationClient per site
// that reaches it. A phase closes when every expected site has sent its message (the advert and
// share phases: every participant; unmasking: every site expected to upload); until then a site
// is answered Wait. Like the real aggregator, a phase asked again gets the same answer.
//
// Thread-safe: sites may run on their own threads.
#ifndef SCANCOV_NODE_SECAGG_TEST_AGGREGATOR_H_
#define SCANCOV_NODE_SECAGG_TEST_AGGREGATOR_H_

#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "privacy/secagg/server.h"
#include "protocol/federation_client.h"

namespace scancov::node::testing {

class SecAggTestAggregator {
 public:
  // `uploaders`: the participants whose masked inputs are awaited before unmasking (the others
  // drop out after sharing keys).
  SecAggTestAggregator(v1::SecAggSession session, std::set<std::string> uploaders);

  absl::StatusOr<v1::SecAggResponse> SecAgg(const std::string& site,
                                            const v1::SecAggRequest& request);
  absl::StatusOr<v1::UploadResponse> Upload(const std::string& site, const v1::UploadHeader& header,
                                            const protocol::TensorSet* weights);

  // The server's result, once every uploader has answered its unmask request.
  std::optional<privacy::secagg::SecAggResult> result();
  std::map<std::string, v1::UploadHeader> headers();

 private:
  absl::Status Receive(const std::string& site, v1::SecAggPhase phase, const std::string& bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CloseIfComplete(v1::SecAggPhase phase) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  const v1::SecAggSession session_;
  const std::set<std::string> participants_;
  const std::set<std::string> uploaders_;
  privacy::secagg::SecAggServer server_ ABSL_GUARDED_BY(mu_);
  std::map<int, std::set<std::string>> sent_ ABSL_GUARDED_BY(mu_);  // by phase
  // By phase, then site: the answer once the phase has closed.
  std::map<int, std::map<std::string, std::string>> answers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::UploadHeader> headers_ ABSL_GUARDED_BY(mu_);
  std::optional<privacy::secagg::SecAggResult> result_ ABSL_GUARDED_BY(mu_);
};

// One site's client: SecAgg and UploadResult reach the shared aggregator; the rest is
// Unimplemented. Counts uploads.
class SecAggSiteClient : public protocol::FederationClient {
 public:
  SecAggSiteClient(SecAggTestAggregator* aggregator, std::string site)
      : aggregator_(aggregator), site_(std::move(site)) {}

  absl::StatusOr<v1::RegisterResponse> Register(const v1::RegisterRequest&) override {
    return absl::UnimplementedError("Register");
  }
  absl::StatusOr<v1::PullTaskResponse> PullTask() override {
    return absl::UnimplementedError("PullTask");
  }
  absl::StatusOr<protocol::TensorSet> DownloadWeights(const std::string&,
                                                      const std::string&) override {
    return absl::UnimplementedError("DownloadWeights");
  }
  absl::StatusOr<v1::DecisionAck> ReportDecision(const v1::StudyDecision&) override {
    return absl::UnimplementedError("ReportDecision");
  }
  absl::StatusOr<v1::UploadResponse> UploadResult(const v1::UploadHeader& header,
                                                  const protocol::TensorSet* weights) override {
    ++uploads_;
    return aggregator_->Upload(site_, header, weights);
  }
  absl::StatusOr<v1::SecAggResponse> SecAgg(const v1::SecAggRequest& request) override {
    return aggregator_->SecAgg(site_, request);
  }
  int uploads() const { return uploads_; }

 private:
  SecAggTestAggregator* aggregator_;
  std::string site_;
  int uploads_ = 0;
};

}  // namespace scancov::node::testing

#endif  // SCANCOV_NODE_SECAGG_TEST_AGGREGATOR_H_
