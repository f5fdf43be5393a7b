#include "sites/config/site_config.h"

#include "gtest/gtest.h"

namespace scancov::sites {
namespace {

constexpr char kGood[] = R"({
  "site_id": "kb", "aggregator": "127.0.0.1:7443",
  "tls": {"ca": "pki/ca.crt", "cert": "pki/sites/kb.crt", "key": "/abs/kb.key"},
  "data_dir": "data", "store": "state/node.db", "secret": "state/site.secret",
  "privacy": {"min_cell_count": 5, "allowed_variables": ["age"], "allow_model_weights": false}
})";

TEST(SiteConfigTest, ParsesAndResolvesRelativePaths) {
  auto c = ParseSiteConfig(kGood, "/etc/scancov", "site.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->site_id, "kb");
  EXPECT_EQ(c->ca_cert, "/etc/scancov/pki/ca.crt");
  EXPECT_EQ(c->key, "/abs/kb.key");
  EXPECT_EQ(c->cache_dir, "/etc/scancov/state/cache");
  EXPECT_EQ(c->device, "auto");
  EXPECT_EQ(c->privacy.min_cell_count, 5);
  EXPECT_FALSE(c->privacy.allow_model_weights);
  EXPECT_EQ(c->crl, "");  // optional: no revocation check
  auto again = ParseSiteConfig(SiteConfigToJson(*c), "/elsewhere", "dump");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->store, c->store);
  EXPECT_EQ(again->crl, "");
}

TEST(SiteConfigTest, CrlIsOptionalAndResolvedLikeTheOtherPaths) {
  std::string with_crl = kGood;
  with_crl.insert(with_crl.find("\"data_dir\""), "\"crl\": \"pki/crl.pem\", ");
  auto c = ParseSiteConfig(with_crl, "/etc/scancov", "site.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->crl, "/etc/scancov/pki/crl.pem");
  auto again = ParseSiteConfig(SiteConfigToJson(*c), "/elsewhere", "dump");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->crl, "/etc/scancov/pki/crl.pem");
  std::string bad = kGood;
  bad.insert(bad.find("\"data_dir\""), "\"crl\": 7, ");
  auto refused = ParseSiteConfig(bad, "/", "site.json");
  EXPECT_NE(refused.status().message().find("'crl' must be a string"), std::string::npos)
      << refused.status();
}

TEST(SiteConfigTest, TheSitesDifferentialPrivacyMaximum) {
  auto none = ParseSiteConfig(kGood, "/etc/scancov", "site.json");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->privacy.max_epsilon, 0.0);  // no maximum unless the steward sets one
  std::string with_dp = kGood;
  with_dp.insert(with_dp.find("\"min_cell_count\""), "\"max_epsilon\": 4, \"dp_delta\": 1e-6, ");
  auto c = ParseSiteConfig(with_dp, "/etc/scancov", "site.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->privacy.max_epsilon, 4.0);
  EXPECT_EQ(c->privacy.dp_delta, 1e-6);
  auto again = ParseSiteConfig(SiteConfigToJson(*c), "/elsewhere", "dump");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->privacy.max_epsilon, 4.0);
  for (const char* bad : {"\"max_epsilon\": -1, ", "\"max_epsilon\": \"4\", ",
                          "\"dp_delta\": 0.5, ", "\"dp_delta\": 0, "}) {
    std::string text = kGood;
    text.insert(text.find("\"min_cell_count\""), bad);
    auto refused = ParseSiteConfig(text, "/", "site.json");
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(refused.status().message().find("privacy."), std::string::npos) << bad;
  }
}

TEST(SiteConfigTest, ErrorsNameTheFileAndKey) {
  auto unknown = ParseSiteConfig(R"({"site_id": "kb", "agregator": "x"})", "/", "site.json");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("site.json: unknown key 'agregator'"),
            std::string::npos)
      << unknown.status();
  auto bad_id = ParseSiteConfig(R"({"site_id": "KB!"})", "/", "site.json");
  EXPECT_NE(bad_id.status().message().find("site_id"), std::string::npos);
  auto no_tls = ParseSiteConfig(R"({"site_id": "kb", "aggregator": "x"})", "/", "site.json");
  EXPECT_NE(no_tls.status().message().find("'tls'"), std::string::npos);
  auto not_json = ParseSiteConfig("{", "/", "site.json");
  EXPECT_NE(not_json.status().message().find("not valid JSON"), std::string::npos);
  EXPECT_EQ(LoadSiteConfig("/nonexistent/site.json").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace scancov::sites
