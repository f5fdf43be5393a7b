// Whole secure-aggregation rounds in one process: N clients and a server exchanging serialised
// messages, with real P-256 site keys and self-signed certificates.
#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "privacy/secagg/client.h"
#include "privacy/secagg/messages.h"
#include "privacy/secagg/server.h"
#include "privacy/secagg/test_federation.h"

namespace scancov::privacy::secagg {
namespace {

using test_sites::Dropouts;
using test_sites::ExpectSumOf;
using test_sites::Federation;
using test_sites::FiveSites;
using ::testing::HasSubstr;

TEST(SecAggProtocolTest, SumOfAllSitesIsExact) {
  Federation f = FiveSites();
  auto result = f.Run();
  ASSERT_TRUE(result.ok()) << result.status();
  ExpectSumOf(f, *result, {"site-a", "site-b", "site-c", "site-d", "site-e"});
  EXPECT_TRUE(result->dropped.empty());
}

// The aggregator folds masked uploads into one running ring sum as they arrive and never holds a
// site's input: the server only notes who sent one, then unmasks the sum it is given.
TEST(SecAggProtocolTest, ASumKeptOutsideTheServerUnmasksTheSame) {
  Federation f = FiveSites();
  f.set_sum_outside(true);
  auto result = f.Run(Dropouts{{}, {"site-c"}, {"site-e"}});
  ASSERT_TRUE(result.ok()) << result.status();
  ExpectSumOf(f, *result, {"site-a", "site-b", "site-d", "site-e"});
  EXPECT_EQ(result->dropped, std::vector<std::string>{"site-c"});
}

TEST(SecAggProtocolTest, TheTwoWaysOfTakingInputsDoNotMix) {
  Federation f = FiveSites();
  ASSERT_TRUE(f.Advertise().ok());
  ASSERT_TRUE(f.Share().ok());
  ASSERT_TRUE(f.server().NoteMaskedInput(f.config().study_id, f.config().round, "site-a").ok());
  auto y = f.client("site-b").MaskInput(f.bundle("site-b"), f.inputs()["site-b"]);
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(f.server().ReceiveMaskedInput(*y).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.server().NoteMaskedInput(f.config().study_id, f.config().round, "site-a").code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(f.server().NoteMaskedInput(f.config().study_id, f.config().round + 1, "site-c").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SecAggProtocolTest, OneSiteDroppingBeforeMaskingIsExcluded) {
  Federation f = FiveSites();
  auto result = f.Run(Dropouts{{}, {"site-c"}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  ExpectSumOf(f, *result, {"site-a", "site-b", "site-d", "site-e"});
  EXPECT_EQ(result->dropped, std::vector<std::string>{"site-c"});
}

TEST(SecAggProtocolTest, TwoSitesDroppingBeforeMaskingAreExcluded) {
  Federation f = FiveSites();
  auto result = f.Run(Dropouts{{}, {"site-a", "site-e"}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  ExpectSumOf(f, *result, {"site-b", "site-c", "site-d"});
}

TEST(SecAggProtocolTest, SiteUnreachableAtUnmaskIsIncluded) {
  Federation f = FiveSites();
  auto result = f.Run(Dropouts{{}, {"site-b"}, {"site-d"}});
  ASSERT_TRUE(result.ok()) << result.status();
  ExpectSumOf(f, *result, {"site-a", "site-c", "site-d", "site-e"});
}

TEST(SecAggProtocolTest, SiteDroppingBeforeSharingIsExcluded) {
  Federation f = FiveSites();
  auto result = f.Run(Dropouts{{"site-a"}, {"site-d"}, {}});
  ASSERT_TRUE(result.ok()) << result.status();
  ExpectSumOf(f, *result, {"site-b", "site-c", "site-e"});
}

TEST(SecAggProtocolTest, BelowThresholdFailsCleanlyInEachPhase) {
  Federation masking = FiveSites();
  absl::Status s = masking.Run(Dropouts{{}, {"site-a", "site-b", "site-c"}, {}}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("masked-input phase: 2 sites sent masked input, 3 needed"));

  Federation sharing = FiveSites();
  s = sharing.Run(Dropouts{{"site-a", "site-b", "site-c"}, {}, {}}).status();
  EXPECT_THAT(s.message(), HasSubstr("share-keys phase: 2 sites shared keys, 3 needed"));

  Federation unmask = FiveSites();
  s = unmask.Run(Dropouts{{}, {}, {"site-a", "site-b", "site-c"}}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("unmask phase: 2 sites answered, 3 needed"));

  Federation advertising = FiveSites();
  ASSERT_TRUE(advertising.client("site-a").AdvertiseKeys().ok());
  s = advertising.server().CloseAdvertising().status();
  EXPECT_THAT(s.message(), HasSubstr("advertise phase: 0 sites advertised keys, 3 needed"));
}

TEST(SecAggProtocolTest, MaskedUploadIsUncorrelatedWithTheTrueVector) {
  Federation f(test_sites::TestConfig(3, 2, 100000), test_sites::TestSites(3));
  ASSERT_TRUE(f.Run().ok());
  const FixedPointCodec codec =
      *FixedPointCodec::Create(test_sites::TestConfig(3, 2, 1).fixed_point);
  const std::vector<double>& x = f.inputs()["site-b"];
  auto pearson = [&x](const std::vector<double>& y) {
    double mx = 0, my = 0;
    for (size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
    mx /= x.size(), my /= y.size();
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx);
      syy += (y[i] - my) * (y[i] - my);
    }
    return sxy / std::sqrt(sxx * syy);
  };
  EXPECT_GT(pearson(codec.Decode(*codec.Encode(x))), 0.999);  // the test can see a leak
  EXPECT_LT(std::fabs(pearson(codec.Decode(f.masked()["site-b"]))), 0.01);
}

TEST(SecAggProtocolTest, ServerRefusesStrangersDuplicatesAndOtherRounds) {
  Federation f = FiveSites();
  SecAggServer& server = f.server();
  KeyAdvert advert = *f.client("site-a").AdvertiseKeys();
  ASSERT_TRUE(server.ReceiveAdvert(advert).ok());
  EXPECT_EQ(server.ReceiveAdvert(advert).code(), absl::StatusCode::kAlreadyExists);
  KeyAdvert stranger = advert;
  stranger.site_id = "site-z";
  EXPECT_THAT(server.ReceiveAdvert(stranger).message(), HasSubstr("not a participant"));
  KeyAdvert later = advert;
  later.round = 4;
  EXPECT_THAT(server.ReceiveAdvert(later).message(), HasSubstr("round 4"));
  for (const char* id : {"site-b", "site-c", "site-d", "site-e"}) {
    ASSERT_TRUE(server.ReceiveAdvert(*f.client(id).AdvertiseKeys()).ok());
  }
  AdvertList list = *server.CloseAdvertising();
  EXPECT_EQ(server.ReceiveAdvert(advert).code(), absl::StatusCode::kFailedPrecondition);
  ShareKeysMessage shares = *f.client("site-a").ShareKeys(list);
  ShareKeysMessage partial = shares;
  partial.shares.pop_back();
  EXPECT_THAT(server.ReceiveShares(partial).message(), HasSubstr("one for each of the 4"));
  ASSERT_TRUE(server.ReceiveShares(shares).ok());
  EXPECT_EQ(server.ReceiveShares(shares).code(), absl::StatusCode::kAlreadyExists);
  for (const char* id : {"site-b", "site-c", "site-d", "site-e"}) {
    ASSERT_TRUE(server.ReceiveShares(*f.client(id).ShareKeys(list)).ok());
  }
  auto bundles = server.CloseSharing();
  ASSERT_TRUE(bundles.ok()) << bundles.status();
  EXPECT_EQ(bundles->size(), 5u);
}

TEST(SecAggProtocolTest, ServerRefusesBadInputsAndResponsesAndGoesOn) {
  Federation f = FiveSites();
  SecAggServer& server = f.server();
  ASSERT_TRUE(f.Advertise().ok() && f.Share().ok());
  std::vector<MaskedInput> inputs;
  for (const char* id : {"site-a", "site-b", "site-c", "site-d", "site-e"}) {
    inputs.push_back(*f.client(id).MaskInput(f.bundle(id), f.inputs()[id]));
  }
  MaskedInput short_input = inputs[0];
  short_input.masked.pop_back();
  EXPECT_THAT(server.ReceiveMaskedInput(short_input).message(), HasSubstr("256 elements"));
  for (const MaskedInput& y : inputs) ASSERT_TRUE(server.ReceiveMaskedInput(y).ok());
  EXPECT_EQ(server.ReceiveMaskedInput(inputs[0]).code(), absl::StatusCode::kAlreadyExists);
  std::vector<UnmaskRequest> requests = *server.CloseMasking();
  UnmaskResponse first = *f.client(requests[0].recipient).Unmask(requests[0]);
  ASSERT_TRUE(server.ReceiveUnmaskResponse(first).ok());
  EXPECT_EQ(server.ReceiveUnmaskResponse(first).code(), absl::StatusCode::kAlreadyExists);
  UnmaskResponse wrong_kind = *f.client(requests[1].recipient).Unmask(requests[1]);
  wrong_kind.shares[0].kind = ShareKind::kMaskingKey;
  EXPECT_THAT(server.ReceiveUnmaskResponse(wrong_kind).message(),
              HasSubstr("does not answer the request"));
  wrong_kind.shares[0].kind = ShareKind::kSelfMaskSeed;
  ASSERT_TRUE(server.ReceiveUnmaskResponse(wrong_kind).ok());
  UnmaskResponse third = *f.client(requests[2].recipient).Unmask(requests[2]);
  ASSERT_TRUE(server.ReceiveUnmaskResponse(third).ok());
  auto result = server.Finish();
  ASSERT_TRUE(result.ok()) << result.status();
  ExpectSumOf(f, *result, {"site-a", "site-b", "site-c", "site-d", "site-e"});
}

TEST(SecAggProtocolTest, StepsRunInOrderOnly) {
  Federation f = FiveSites();
  SecAggClient& a = f.client("site-a");
  EXPECT_THAT(a.ShareKeys(AdvertList{}).status().message(), HasSubstr("ShareKeys is out of order"));
  EXPECT_THAT(a.MaskInput(ShareBundle{}, f.inputs()["site-a"]).status().message(),
              HasSubstr("MaskInput is out of order"));
  EXPECT_EQ(a.Unmask(UnmaskRequest{}).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(a.AdvertiseKeys().ok());
  EXPECT_EQ(a.AdvertiseKeys().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(f.server().CloseSharing().status().message(), HasSubstr("out of order"));
  EXPECT_EQ(f.server().Finish().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SecAggProtocolTest, AWrongShareIsDetectedNotSummed) {
  Federation f = FiveSites();
  ASSERT_TRUE(f.Advertise().ok() && f.Share().ok() && f.Mask(Dropouts{{}, {"site-e"}, {}}).ok());
  for (const char* id : {"site-a", "site-b", "site-c", "site-d"}) {
    UnmaskResponse r = *f.client(id).Unmask(f.request(id));
    // site-e's masking-key share, tampered (byte 5: X25519 clamping ignores some bits of byte 0)
    r.shares.back().share.value[5] ^= 1;
    ASSERT_TRUE(f.server().ReceiveUnmaskResponse(r).ok());
  }
  absl::Status s = f.server().Finish().status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("rebuilt for 'site-e' does not match its advert"));
}

TEST(SecAggProtocolTest, AWrongSelfMaskSeedShareIsDetectedAboveTheThreshold) {
  Federation f = FiveSites();
  ASSERT_TRUE(f.Advertise().ok() && f.Share().ok() && f.Mask().ok());
  for (const char* id : {"site-a", "site-b", "site-c", "site-d"}) {
    UnmaskResponse r = *f.client(id).Unmask(f.request(id));
    if (std::string(id) == "site-b") r.shares[2].share.value[0] ^= 1;  // site-c's seed share
    ASSERT_TRUE(f.server().ReceiveUnmaskResponse(r).ok());
  }
  absl::Status s = f.server().Finish().status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("self-mask seed of 'site-c'"));
  EXPECT_THAT(s.message(), HasSubstr("a wrong share"));
}

TEST(SecAggProtocolTest, InputOutsideTheDeclaredRangeIsRefusedByIndex) {
  Federation f = FiveSites();
  ASSERT_TRUE(f.Advertise().ok() && f.Share().ok());
  std::vector<double> x = f.inputs()["site-a"];
  x[17] = std::nan("");
  absl::Status s = f.client("site-a").MaskInput(f.bundle("site-a"), x).status();
  EXPECT_THAT(s.message(), HasSubstr("element 17 is not finite"));
  x[17] = 100.5;
  s = f.client("site-a").MaskInput(f.bundle("site-a"), x).status();
  EXPECT_THAT(s.message(), HasSubstr("element 17 is outside the declared range"));
  x.pop_back();
  s = f.client("site-a").MaskInput(f.bundle("site-a"), x).status();
  EXPECT_THAT(s.message(), HasSubstr("256 values, the study declares 257"));
}

TEST(SecAggProtocolTest, MalformedMessageGivesAClearError) {
  Federation f = FiveSites();
  ASSERT_TRUE(f.Advertise().ok() && f.Share().ok() && f.Mask().ok());
  const std::string bytes = f.request("site-a").Serialize();
  auto cut = UnmaskRequest::Parse(bytes.substr(0, bytes.size() - 3));
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cut.status().message(), HasSubstr("secagg UnmaskRequest: field 'dropped' at byte"));
  EXPECT_THAT(ShareBundle::Parse(bytes).status().message(), HasSubstr("message type"));
}

}  // namespace
}  // namespace scancov::privacy::secagg
