// Whole secure-aggregation rounds in one process: N clients and a server exchanging serialised
// messages, with real P-256 site keys and self-signed certificates.
#include <cmath>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/env.h"
#include "core/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "privacy/secagg/client.h"
#include "privacy/secagg/server.h"
#include "privacy/secagg/test_sites.h"

namespace scancov::privacy::secagg {
namespace {

using ::testing::HasSubstr;

// Every message crosses the "wire": serialised and parsed again.
template <typename T>
T Wire(const T& message) {
  absl::StatusOr<T> parsed = T::Parse(message.Serialize());
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *std::move(parsed) : T{};
}

struct Dropouts {
  std::set<std::string> before_sharing;  // advertised keys, then gone
  std::set<std::string> before_masking;  // shared keys, then gone: input excluded
  std::set<std::string> before_unmask;   // input arrived, then unreachable: input included
};

class Federation {
 public:
  Federation(SecAggConfig config, const std::vector<test_sites::TestSite>& sites, uint64_t seed = 1)
      : config_(config), server_(*SecAggServer::Create(config)) {
    for (size_t i = 0; i < config.sites.size(); ++i) {
      randoms_.push_back(std::make_unique<DeterministicRandom>(seed * 1000 + i));
      clients_.emplace(config.sites[i].id,
                       *SecAggClient::Create(config, config.sites[i].id, sites[i].key_pem,
                                             randoms_.back().get()));
    }
    Random random(seed);
    for (const SecAggSite& site : config.sites) {
      std::vector<double>& x = inputs_[site.id];
      for (size_t i = 0; i < config.vector_length; ++i) x.push_back(200 * random.Uniform() - 100);
    }
  }

  absl::Status Advertise() {
    for (auto& [id, client] : clients_) {
      SCV_ASSIGN_OR_RETURN(KeyAdvert advert, client.AdvertiseKeys());
      adverts_[id] = advert;
      SCV_RETURN_IF_ERROR(server_.ReceiveAdvert(Wire(advert)));
    }
    SCV_ASSIGN_OR_RETURN(list_, server_.CloseAdvertising());
    return absl::OkStatus();
  }

  absl::Status Share(const Dropouts& d) {
    for (auto& [id, client] : clients_) {
      if (d.before_sharing.count(id)) continue;
      SCV_ASSIGN_OR_RETURN(ShareKeysMessage shares, client.ShareKeys(Wire(list_)));
      SCV_RETURN_IF_ERROR(server_.ReceiveShares(Wire(shares)));
    }
    SCV_ASSIGN_OR_RETURN(bundles_, server_.CloseSharing());
    return absl::OkStatus();
  }

  absl::Status Mask(const Dropouts& d) {
    for (const ShareBundle& bundle : bundles_) {
      if (d.before_masking.count(bundle.recipient)) continue;
      SCV_ASSIGN_OR_RETURN(
          MaskedInput y,
          client(bundle.recipient).MaskInput(Wire(bundle), inputs_[bundle.recipient]));
      masked_[bundle.recipient] = y.masked;
      SCV_RETURN_IF_ERROR(server_.ReceiveMaskedInput(Wire(y)));
    }
    SCV_ASSIGN_OR_RETURN(requests_, server_.CloseMasking());
    return absl::OkStatus();
  }

  absl::Status Unmask(const Dropouts& d) {
    for (const UnmaskRequest& request : requests_) {
      if (d.before_unmask.count(request.recipient)) continue;
      SCV_ASSIGN_OR_RETURN(UnmaskResponse r, client(request.recipient).Unmask(Wire(request)));
      SCV_RETURN_IF_ERROR(server_.ReceiveUnmaskResponse(Wire(r)));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<SecAggResult> Run(const Dropouts& d = {}) {
    SCV_RETURN_IF_ERROR(Advertise());
    SCV_RETURN_IF_ERROR(Share(d));
    SCV_RETURN_IF_ERROR(Mask(d));
    SCV_RETURN_IF_ERROR(Unmask(d));
    return server_.Finish();
  }

  // The exact ring sum and the plain double sum of the named sites' inputs.
  std::pair<std::vector<uint64_t>, std::vector<double>> Expected(
      const std::vector<std::string>& sites) {
    const FixedPointCodec codec = *FixedPointCodec::Create(config_.fixed_point);
    std::vector<uint64_t> ring(config_.vector_length, 0);
    std::vector<double> plain(config_.vector_length, 0.0);
    for (const std::string& site : sites) {
      const std::vector<uint64_t> e = *codec.Encode(inputs_[site]);
      for (size_t i = 0; i < e.size(); ++i) {
        ring[i] += e[i];
        plain[i] += inputs_[site][i];
      }
    }
    return {ring, plain};
  }

  SecAggClient& client(const std::string& id) { return clients_.at(id); }
  SecAggServer& server() { return server_; }
  const AdvertList& list() const { return list_; }
  std::vector<ShareBundle>& bundles() { return bundles_; }
  std::vector<UnmaskRequest>& requests() { return requests_; }
  std::map<std::string, KeyAdvert>& adverts() { return adverts_; }
  std::map<std::string, std::vector<double>>& inputs() { return inputs_; }
  std::map<std::string, std::vector<uint64_t>>& masked() { return masked_; }

 private:
  SecAggConfig config_;
  SecAggServer server_;
  std::vector<std::unique_ptr<DeterministicRandom>> randoms_;
  std::map<std::string, SecAggClient> clients_;
  std::map<std::string, std::vector<double>> inputs_;
  std::map<std::string, KeyAdvert> adverts_;
  AdvertList list_;
  std::vector<ShareBundle> bundles_;
  std::map<std::string, std::vector<uint64_t>> masked_;
  std::vector<UnmaskRequest> requests_;
};

Federation FiveSites(size_t length = 257, uint64_t seed = 1, int neighbours = 0) {
  return Federation(test_sites::TestConfig(5, 3, length, neighbours), test_sites::TestSites(5),
                    seed);
}

void ExpectSumOf(Federation& f, const SecAggResult& result, std::vector<std::string> sites) {
  EXPECT_EQ(result.included, sites);
  auto [ring, plain] = f.Expected(sites);
  EXPECT_EQ(result.ring_sum, ring);  // exact
  const double bound = sites.size() * std::ldexp(1.0, -24);
  for (size_t i = 0; i < plain.size(); ++i) {
    ASSERT_NEAR(result.sum[i], plain[i], bound) << i;
  }
}

TEST(SecAggProtocolTest, SumOfAllSitesIsExact) {
  Federation f = FiveSites();
  auto result = f.Run();
  ASSERT_TRUE(result.ok()) << result.status();
  ExpectSumOf(f, *result, {"site-a", "site-b", "site-c", "site-d", "site-e"});
  EXPECT_TRUE(result->dropped.empty());
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

}  // namespace
}  // namespace scancov::privacy::secagg
