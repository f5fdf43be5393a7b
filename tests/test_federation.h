// A Federation as scancov-aggregator builds it for tests that serve it over gRPC: its uploads
// spooled to files under `<dir>/uploads` (aggregator/server/upload_spool.h).
#ifndef SCANCOV_TESTS_TEST_FEDERATION_H_
#define SCANCOV_TESTS_TEST_FEDERATION_H_

#include <memory>
#include <string>

#include "aggregator/server/federation.h"
#include "aggregator/server/upload_spool.h"
#include "gtest/gtest.h"
#include "protocol/weights_codec.h"

namespace scancov::testing_sites {

inline std::unique_ptr<aggregator::Federation> SpooledFederation(
    std::unique_ptr<aggregator::AggregatorStore> store, aggregator::FederationOptions options,
    const std::string& dir, protocol::ManifestLimits limits = {}) {
  // Tests call PullTask directly and expect a prompt answer: hold a long poll 200 ms at most.
  options.max_long_poll = absl::Milliseconds(200);
  auto spool = aggregator::UploadSpool::Open(dir + "/uploads", limits);
  EXPECT_TRUE(spool.ok()) << spool.status();
  return std::make_unique<aggregator::Federation>(std::move(store), options,
                                                  spool.ok() ? std::move(*spool) : nullptr);
}

}  // namespace scancov::testing_sites

#endif  // SCANCOV_TESTS_TEST_FEDERATION_H_
