// The attacks a curious or malicious server (or site) could run on secure aggregation, each
// next to the honest use that must still work afterwards.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "privacy/secagg/key_signature.h"
#include "privacy/secagg/test_federation.h"

namespace scancov::privacy::secagg {
namespace {

using test_sites::Dropouts;
using test_sites::ExpectSumOf;
using test_sites::Federation;
using test_sites::FiveSites;
using test_sites::TestConfig;
using test_sites::TestSites;
using test_sites::Wire;
using ::testing::HasSubstr;

const std::vector<std::string> kAll = {"site-a", "site-b", "site-c", "site-d", "site-e"};

TEST(SecAggAttackTest, ShareReplayedFromAnotherRoundOrStudyIsRefused) {
  Federation old_round = FiveSites();
  ASSERT_TRUE(old_round.Advertise().ok() && old_round.Share().ok());
  SecAggConfig other_study = TestConfig(5, 3, 257);
  other_study.study_id = "study-8";
  Federation other(other_study, TestSites(5));
  ASSERT_TRUE(other.Advertise().ok() && other.Share().ok());
  SecAggConfig next = TestConfig(5, 3, 257);
  next.round = 4;
  Federation f(next, TestSites(5));
  ASSERT_TRUE(f.Advertise().ok() && f.Share().ok());

  ShareBundle replay = old_round.bundle("site-a");
  absl::Status s = f.client("site-a").MaskInput(replay, f.inputs()["site-a"]).status();
  EXPECT_THAT(s.message(), HasSubstr("this session is study 'study-7' round 4"));
  replay.round = 4;  // relabelled: the AEAD binds the round, and the keys are fresh
  s = f.client("site-a").MaskInput(replay, f.inputs()["site-a"]).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  // One share of another study slipped in among genuine ones.
  ShareBundle mixed = f.bundle("site-a");
  mixed.shares[0].ciphertext = other.bundle("site-a").shares[0].ciphertext;
  s = f.client("site-a").MaskInput(mixed, f.inputs()["site-a"]).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;

  ASSERT_TRUE(f.Mask().ok() && f.Unmask().ok());  // the genuine bundle still works
  auto result = f.server().Finish();
  ASSERT_TRUE(result.ok()) << result.status();
  ExpectSumOf(f, *result, kAll);
}

TEST(SecAggAttackTest, ShareRedirectedToAnotherRecipientIsRefused) {
  Federation f = FiveSites();
  ASSERT_TRUE(f.Advertise().ok() && f.Share().ok());
  ShareBundle forged = f.bundle("site-a");
  // site-b's share for site-c, relabelled for site-a.
  for (EncryptedShare& share : forged.shares) {
    if (share.sender != "site-b") continue;
    for (const EncryptedShare& to_c : f.bundle("site-c").shares) {
      if (to_c.sender == "site-b") share.ciphertext = to_c.ciphertext;
    }
  }
  absl::Status s = f.client("site-a").MaskInput(forged, f.inputs()["site-a"]).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("does not authenticate"));
}

TEST(SecAggAttackTest, ServerAskingForBothSharesOfOneSiteIsRefused) {
  Federation f = FiveSites();
  ASSERT_TRUE(f.Advertise().ok() && f.Share().ok() && f.Mask(Dropouts{{}, {"site-e"}, {}}).ok());
  SecAggClient& a = f.client("site-a");
  UnmaskRequest dropped = f.request("site-a");
  ASSERT_EQ(dropped.dropped, std::vector<std::string>{"site-e"});
  ASSERT_TRUE(a.Unmask(Wire(dropped)).ok());  // site-e's masking-key share
  // Now claim site-e survived, to get its self-mask seed share as well.
  UnmaskRequest survived = dropped;
  survived.survivors = kAll;
  survived.dropped.clear();
  absl::Status s = a.Unmask(Wire(survived)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("already answered"));
  EXPECT_EQ(a.Unmask(Wire(dropped)).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SecAggAttackTest, InconsistentUnmaskRequestsAreRefused) {
  Federation f = FiveSites();
  ASSERT_TRUE(f.Advertise().ok() && f.Share().ok() && f.Mask(Dropouts{{}, {"site-e"}, {}}).ok());
  const UnmaskRequest honest = f.request("site-a");
  auto refuse = [&](UnmaskRequest bad, const char* why) {
    absl::Status s = f.client("site-a").Unmask(bad).status();
    EXPECT_FALSE(s.ok()) << why;
    EXPECT_THAT(s.message(), HasSubstr(why));
  };
  UnmaskRequest both = honest;
  both.survivors.push_back("site-e");
  refuse(both, "disjoint");
  UnmaskRequest missing = honest;
  missing.dropped.clear();
  refuse(missing, "shares are held for 5");
  UnmaskRequest self_dropped = honest;
  self_dropped.survivors.erase(self_dropped.survivors.begin());
  self_dropped.dropped.push_back("site-a");
  refuse(self_dropped, "not among survivors");
  UnmaskRequest few{honest.study_id,
                    honest.round,
                    "site-a",
                    {"site-a", "site-b"},
                    {"site-c", "site-d", "site-e"}};
  refuse(few, "2 survivors, 3 needed");
  UnmaskRequest stranger = honest;
  stranger.dropped.push_back("site-z");
  refuse(stranger, "no share of site 'site-z'");
  UnmaskRequest elsewhere = honest;
  elsewhere.recipient = "site-b";
  refuse(elsewhere, "addressed to 'site-b'");
  EXPECT_TRUE(f.client("site-a").Unmask(honest).ok());  // refusals left the state unchanged
}

TEST(SecAggAttackTest, ForgedAdvertIsRefusedAndTheSessionGoesOn) {
  Federation f = FiveSites();
  KeyAdvert genuine = *f.client("site-b").AdvertiseKeys();
  KeyAdvert forged = genuine;
  forged.s_public.fill(7);  // the attacker's keys, signed with site-a's key
  forged.signature = *SignPayload(TestSites(5)[0].key_pem,
                                  AdvertPayload(forged.study_id, forged.round, forged.site_id,
                                                forged.c_public, forged.s_public));
  absl::Status s = f.server().ReceiveAdvert(Wire(forged));
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("secagg advert of 'site-b'"));
  EXPECT_TRUE(f.server().ReceiveAdvert(Wire(genuine)).ok());

  // A server that forwards the forgery anyway is caught by every client.
  Federation g = FiveSites();
  ASSERT_TRUE(g.Advertise().ok());
  AdvertList list = g.list();
  list.adverts[1] = forged;
  s = g.client("site-a").ShareKeys(Wire(list)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
}

TEST(SecAggAttackTest, CertificateWithAnotherNameIsRefused) {
  const std::vector<test_sites::TestSite> sites = {
      TestSites(3)[0], test_sites::MakeTestSite("site-b", "site-x"), TestSites(3)[2]};
  SecAggConfig config = TestConfig(3, 2, 16);
  config.sites[1].certificate_pem = sites[1].cert_pem;
  Federation f(config, sites);
  absl::Status s = f.Advertise();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("has CN 'site-x'"));
  // site-a advertised before site-b was refused; site-c goes on and the round completes.
  ASSERT_TRUE(f.server().ReceiveAdvert(*f.client("site-c").AdvertiseKeys()).ok());
  AdvertList list = *f.server().CloseAdvertising();
  EXPECT_EQ(list.adverts.size(), 2u);
}

TEST(SecAggAttackTest, ClientRefusesABadAdvertList) {
  Federation f = FiveSites();
  ASSERT_TRUE(f.Advertise().ok());
  SecAggClient& a = f.client("site-a");
  AdvertList few = f.list();
  few.adverts.resize(2);
  EXPECT_THAT(a.ShareKeys(few).status().message(), HasSubstr("advertised keys, 3 needed"));
  AdvertList twice = f.list();
  twice.adverts.push_back(twice.adverts[2]);
  EXPECT_THAT(a.ShareKeys(twice).status().message(), HasSubstr("listed twice"));
  AdvertList without_me = f.list();
  without_me.adverts.erase(without_me.adverts.begin());
  EXPECT_THAT(a.ShareKeys(without_me).status().message(), HasSubstr("own advertised keys"));
  AdvertList swapped = f.list();
  swapped.adverts[0] = f.adverts()["site-a"];
  swapped.adverts[0].c_public = f.adverts()["site-b"].c_public;
  EXPECT_FALSE(a.ShareKeys(swapped).ok());
  EXPECT_TRUE(a.ShareKeys(f.list()).ok());
}

}  // namespace
}  // namespace scancov::privacy::secagg
