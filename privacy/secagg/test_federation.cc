#include "privacy/secagg/test_federation.h"

#include <cmath>

#include "core/env.h"
#include "core/status_macros.h"

namespace scancov::privacy::secagg::test_sites {

Federation::Federation(SecAggConfig config, const std::vector<TestSite>& sites, uint64_t seed)
    : config_(config), server_(*SecAggServer::Create(config)) {
  for (size_t i = 0; i < config.sites.size(); ++i) {
    randoms_.push_back(std::make_unique<DeterministicRandom>(seed * 1000 + i));
    clients_.emplace(
        config.sites[i].id,
        *SecAggClient::Create(config, config.sites[i].id, sites[i].key_pem, randoms_.back().get()));
  }
  Random random(seed);
  for (const SecAggSite& site : config.sites) {
    std::vector<double>& x = inputs_[site.id];
    for (size_t i = 0; i < config.vector_length; ++i) x.push_back(200 * random.Uniform() - 100);
  }
}

absl::Status Federation::Advertise() {
  for (auto& [id, client] : clients_) {
    SCV_ASSIGN_OR_RETURN(KeyAdvert advert, client.AdvertiseKeys());
    adverts_[id] = advert;
    SCV_RETURN_IF_ERROR(server_.ReceiveAdvert(Wire(advert)));
  }
  SCV_ASSIGN_OR_RETURN(list_, server_.CloseAdvertising());
  return absl::OkStatus();
}

absl::Status Federation::Share(const Dropouts& d) {
  for (auto& [id, client] : clients_) {
    if (d.before_sharing.count(id)) continue;
    SCV_ASSIGN_OR_RETURN(ShareKeysMessage shares, client.ShareKeys(Wire(list_)));
    SCV_RETURN_IF_ERROR(server_.ReceiveShares(Wire(shares)));
  }
  SCV_ASSIGN_OR_RETURN(bundles_, server_.CloseSharing());
  return absl::OkStatus();
}

absl::Status Federation::Mask(const Dropouts& d) {
  for (const ShareBundle& bundle : bundles_) {
    const std::string& id = bundle.recipient;
    if (d.before_masking.count(id)) continue;
    SCV_ASSIGN_OR_RETURN(MaskedInput y, client(id).MaskInput(Wire(bundle), inputs_[id]));
    masked_[id] = y.masked;
    if (sum_outside_) {  // as the aggregator does: one running ring sum, inputs only noted
      const MaskedInput wired = Wire(y);
      SCV_RETURN_IF_ERROR(server_.NoteMaskedInput(wired.study_id, wired.round, wired.site_id));
      outside_sum_.resize(wired.masked.size(), 0);
      for (size_t i = 0; i < wired.masked.size(); ++i) outside_sum_[i] += wired.masked[i];
      continue;
    }
    SCV_RETURN_IF_ERROR(server_.ReceiveMaskedInput(Wire(y)));
  }
  SCV_ASSIGN_OR_RETURN(requests_, server_.CloseMasking());
  return absl::OkStatus();
}

absl::Status Federation::Unmask(const Dropouts& d) {
  for (const UnmaskRequest& request : requests_) {
    if (d.before_unmask.count(request.recipient)) continue;
    SCV_ASSIGN_OR_RETURN(UnmaskResponse r, client(request.recipient).Unmask(Wire(request)));
    SCV_RETURN_IF_ERROR(server_.ReceiveUnmaskResponse(Wire(r)));
  }
  return absl::OkStatus();
}

absl::StatusOr<SecAggResult> Federation::Run(const Dropouts& d) {
  SCV_RETURN_IF_ERROR(Advertise());
  SCV_RETURN_IF_ERROR(Share(d));
  SCV_RETURN_IF_ERROR(Mask(d));
  SCV_RETURN_IF_ERROR(Unmask(d));
  return sum_outside_ ? server_.FinishWithSum(outside_sum_) : server_.Finish();
}

std::pair<std::vector<uint64_t>, std::vector<double>> Federation::Expected(
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

ShareBundle& Federation::bundle(const std::string& recipient) {
  for (ShareBundle& b : bundles_) {
    if (b.recipient == recipient) return b;
  }
  ADD_FAILURE() << "no bundle for " << recipient;
  return bundles_.front();
}

UnmaskRequest& Federation::request(const std::string& recipient) {
  for (UnmaskRequest& r : requests_) {
    if (r.recipient == recipient) return r;
  }
  ADD_FAILURE() << "no unmask request for " << recipient;
  return requests_.front();
}

Federation FiveSites(size_t length, uint64_t seed) {
  return Federation(TestConfig(5, 3, length), TestSites(5), seed);
}

void ExpectSumOf(Federation& f, const SecAggResult& result, const std::vector<std::string>& sites) {
  EXPECT_EQ(result.included, sites);
  auto [ring, plain] = f.Expected(sites);
  EXPECT_EQ(result.ring_sum, ring);  // exact
  const double bound = sites.size() * std::ldexp(1.0, -f.config().fixed_point.fractional_bits);
  for (size_t i = 0; i < plain.size(); ++i) {
    ASSERT_NEAR(result.sum[i], plain[i], bound) << i;
  }
}

}  // namespace scancov::privacy::secagg::test_sites
