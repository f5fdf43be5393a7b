// `scancov-node check`'s clock line: against aggregators whose clocks are set off this
// machine's (ahead, behind, agreeing), against an aggregator older than ServerTime (its
// certificate's validity instead), and the thresholds on a measured skew.
#include "node/preflight_test_fixture.h"

namespace scancov::node {
namespace {

using namespace preflight_testing;  // NOLINT: the fixture and its helpers

TEST_F(PreflightTest, AggregatorClockTenMinutesAheadFailsNamingTheSkew) {
  aggregator_clock_.offset = absl::Minutes(10);
  StartOurAggregator({"kb"});
  const std::vector<CheckResult> results = Run();
  EXPECT_EQ(Find(results, "aggregator").status, CheckStatus::kOk);
  const CheckResult r = Find(results, "clock");
  ExpectFail(r, "behind the aggregator's (round trip ");
  // 10 minutes, give or take half a loopback round trip.
  EXPECT_THAT(r.detail, AnyOf(HasSubstr("this clock is 10m"), HasSubstr("this clock is 9m59")));
  EXPECT_THAT(r.detail, AllOf(HasSubstr("more than the 5m allowed"), HasSubstr("NTP")));
  EXPECT_EQ(PreflightExitCode(results), kPreflightExitFailed);
}

TEST_F(PreflightTest, AggregatorClockOneMinuteBehindWarns) {
  aggregator_clock_.offset = -absl::Minutes(1);
  StartOurAggregator({"kb"});
  const std::vector<CheckResult> results = Run();
  const CheckResult r = Find(results, "clock");
  ExpectWarn(r, "ahead of the aggregator's");
  EXPECT_THAT(r.detail, AnyOf(HasSubstr("this clock is 1m"), HasSubstr("this clock is 59.9")));
  EXPECT_THAT(r.detail, HasSubstr("more than 30s"));
  EXPECT_EQ(PreflightExitCode(results), kPreflightExitOk);  // a warning does not fail the check
}

TEST_F(PreflightTest, AggregatorClockAgreeingIsOkWithTheSkewShown) {
  StartOurAggregator({"kb"});
  const CheckResult r = Find(Run(), "clock");
  EXPECT_EQ(r.status, CheckStatus::kOk) << r.detail;
  // "this clock is 3ms ahead of the aggregator's (round trip ...": or, within the millisecond,
  // "this clock agrees with the aggregator's to the millisecond (round trip ...".
  EXPECT_THAT(r.detail, AllOf(HasSubstr(" the aggregator's"), HasSubstr(" (round trip ")));
}

TEST_F(PreflightTest, AggregatorWithoutServerTimeFallsBackToItsCertificate) {
  StartOlderAggregator(/*has_server_time=*/false);
  std::vector<CheckResult> results = Run();
  EXPECT_EQ(Find(results, "aggregator").status, CheckStatus::kOk) << PreflightText(results);
  CheckResult r = Find(results, "clock");
  EXPECT_EQ(r.status, CheckStatus::kOk) << r.detail;
  EXPECT_THAT(r.detail, AllOf(HasSubstr("within the aggregator's certificate validity"),
                              HasSubstr("sent no server time")));
  // One that has the call but sends 0: the same, not a skew of 56 years.
  StartOlderAggregator(/*has_server_time=*/true);
  results = Run();
  EXPECT_EQ(Find(results, "aggregator").status, CheckStatus::kOk) << PreflightText(results);
  r = Find(results, "clock");
  EXPECT_EQ(r.status, CheckStatus::kOk) << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("sent no server time"));
}

TEST(PreflightUnitTest, ClockBeforeTheAggregatorsCertificateWarns) {
  const absl::Time issued = absl::FromUnixSeconds(1'700'000'000);
  const AggregatorClock window{
      PeerCertificateWindow{"CN=aggregator", issued, issued + absl::Hours(24 * 365)}, {}};
  ExpectWarn(CheckClock(window, issued - absl::Hours(2)), "at least 2h behind");
  EXPECT_EQ(CheckClock(window, issued + absl::Hours(1)).status, CheckStatus::kOk);
  ExpectWarn(CheckClock(AggregatorClock(), issued), "not compared");
}

TEST(PreflightUnitTest, MeasuredSkewFailsBeyondFiveMinutesAndWarnsBeyondThirtySeconds) {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  const auto clock = [&](absl::Duration skew) {
    return CheckClock(AggregatorClock{std::nullopt, ClockSkew{skew, absl::Milliseconds(4)}}, now);
  };
  EXPECT_EQ(clock(absl::ZeroDuration()).status, CheckStatus::kOk);
  EXPECT_EQ(clock(kClockSkewWarning).status, CheckStatus::kOk);
  EXPECT_EQ(clock(-kClockSkewWarning - absl::Milliseconds(1)).status, CheckStatus::kWarn);
  EXPECT_EQ(clock(kMaxClockSkew).status, CheckStatus::kWarn);
  ExpectFail(clock(kMaxClockSkew + absl::Milliseconds(1)), "5m0.001s behind");
  ExpectFail(clock(-absl::Hours(1)), "this clock is 1h ahead of the aggregator's (round trip 4ms");
}

}  // namespace
}  // namespace scancov::node
