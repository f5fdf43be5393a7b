// SecAgg+ (Bell et al. 2020): masking and sharing within a public neighbourhood of k sites.
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "privacy/secagg/config.h"
#include "privacy/secagg/test_federation.h"

namespace scancov::privacy::secagg {
namespace {

using test_sites::Dropouts;
using test_sites::ExpectSumOf;
using test_sites::Federation;
using test_sites::TestConfig;
using test_sites::TestSites;
using ::testing::HasSubstr;

TEST(SecAggPlusTest, NeighbourhoodsAreRegularSymmetricAndSeeded) {
  std::vector<std::string> sites;
  for (int i = 0; i < 12; ++i) sites.push_back("s" + std::to_string(i));
  const auto graph = BuildNeighbourhoods(sites, 4, "key-one");
  for (const auto& [site, neighbours] : graph) {
    EXPECT_EQ(neighbours.size(), 4u) << site;
    EXPECT_EQ(neighbours.count(site), 0u);
    for (const std::string& n : neighbours) EXPECT_EQ(graph.at(n).count(site), 1u);
  }
  EXPECT_EQ(graph, BuildNeighbourhoods(sites, 4, "key-one"));
  EXPECT_NE(graph, BuildNeighbourhoods(sites, 4, "key-two"));
  const auto complete = BuildNeighbourhoods(sites, 0, "key-one");
  for (const auto& [site, neighbours] : complete) EXPECT_EQ(neighbours.size(), 11u);
}

TEST(SecAggPlusTest, SumWithDropoutsIsExact) {
  const SecAggConfig config = TestConfig(9, 3, 129, /*neighbours=*/4);
  auto roster = SecAggRoster::Create(config);
  ASSERT_TRUE(roster.ok()) << roster.status();
  // Drop site-a before masking; make a site outside its neighbourhood unreachable at unmask.
  std::string unreachable;
  for (const SecAggSite& s : config.sites) {
    if (s.id != "site-a" && !roster->AreNeighbours("site-a", s.id)) unreachable = s.id;
  }
  ASSERT_FALSE(unreachable.empty());
  Federation f(config, TestSites(9));
  ASSERT_TRUE(f.Advertise().ok() && f.Share().ok());
  EXPECT_EQ(f.bundle("site-b").shares.size(), 4u);  // one from each neighbour
  ASSERT_TRUE(f.Mask(Dropouts{{}, {"site-a"}, {}}).ok());
  ASSERT_TRUE(f.Unmask(Dropouts{{}, {}, {unreachable}}).ok());
  auto result = f.server().Finish();
  ASSERT_TRUE(result.ok()) << result.status();
  std::vector<std::string> included;
  for (const SecAggSite& s : config.sites) {
    if (s.id != "site-a") included.push_back(s.id);
  }
  ExpectSumOf(f, *result, included);
}

TEST(SecAggPlusTest, EachSiteSharesOnlyWithItsNeighbours) {
  const SecAggConfig config = TestConfig(9, 3, 8, /*neighbours=*/4);
  Federation f(config, TestSites(9));
  ASSERT_TRUE(f.Advertise().ok());
  auto shares = f.client("site-a").ShareKeys(f.list());
  ASSERT_TRUE(shares.ok()) << shares.status();
  EXPECT_EQ(shares->shares.size(), 4u);
  auto roster = SecAggRoster::Create(config);
  std::set<std::string> recipients;
  for (const EncryptedShare& s : shares->shares) recipients.insert(s.recipient);
  EXPECT_EQ(recipients, roster->Neighbours("site-a"));
  // A share to a site outside the neighbourhood is refused by the server.
  for (const SecAggSite& s : config.sites) {
    if (s.id != "site-a" && recipients.count(s.id) == 0) {
      shares->shares[0].recipient = s.id;
      break;
    }
  }
  EXPECT_THAT(f.server().ReceiveShares(*shares).message(), HasSubstr("is not expected"));
}

TEST(SecAggPlusTest, ConfigRefusesOddKAndANonMajorityThreshold) {
  EXPECT_THAT(SecAggRoster::Create(TestConfig(9, 3, 8, 3)).status().message(),
              HasSubstr("neighbours 3 must be 0 or even"));
  EXPECT_THAT(SecAggRoster::Create(TestConfig(9, 2, 8, 4)).status().message(),
              HasSubstr("majority of a neighbourhood of 5"));
  EXPECT_THAT(SecAggRoster::Create(TestConfig(5, 2, 8)).status().message(),
              HasSubstr("majority of a neighbourhood of 5"));
  EXPECT_TRUE(SecAggRoster::Create(TestConfig(5, 3, 8)).ok());
}

}  // namespace
}  // namespace scancov::privacy::secagg
