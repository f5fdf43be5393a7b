#include "sites/pki/revocation.h"

#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "core/env.h"
#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sites/pki/pki_test_util.h"
#include "sites/pki/revocation_checker.h"
#include "sites/pki/revocation_index.h"
#include "sites/pki/secure_file.h"

namespace scancov::sites {
namespace {

using ::scancov::sites::testing::ScopedTempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr int64_t kDay = 24 * 60 * 60;

CertificateAndKey MakeCa(const std::string& consortium = "Test Consortium") {
  CaOptions options;
  options.consortium = consortium;
  absl::StatusOr<CertificateAndKey> ca = CreateCertificateAuthority(options);
  EXPECT_TRUE(ca.ok()) << ca.status();
  return ca.ok() ? *ca : CertificateAndKey{};
}

CertificateAndKey Issue(const CertificateAndKey& ca, Role role, const std::string& id) {
  IssueOptions options;
  options.role = role;
  options.id = id;
  absl::StatusOr<CertificateAndKey> issued = IssueCertificate(ca, options);
  EXPECT_TRUE(issued.ok()) << issued.status();
  return issued.ok() ? *issued : CertificateAndKey{};
}

std::string Serial(const std::string& cert_pem) {
  absl::StatusOr<CertificateInfo> info = DescribeCertificate(cert_pem);
  EXPECT_TRUE(info.ok());
  return info.ok() ? info->serial_hex : "";
}

RevokedCertificate Revoked(const std::string& cert_pem, RevocationReason reason) {
  return {Serial(cert_pem), absl::FromUnixSeconds(1'700'000'000), reason};
}

std::string Crl(const CertificateAndKey& ca, const std::vector<RevokedCertificate>& revoked,
                uint64_t number = 1, int64_t offset_s = 0, int days = 7) {
  CrlOptions options;
  options.crl_number = number;
  options.this_update_offset_s = offset_s;
  options.valid_days = days;
  absl::StatusOr<std::string> pem = CreateCrl(ca, revoked, options);
  EXPECT_TRUE(pem.ok()) << pem.status();
  return pem.ok() ? *pem : "";
}

class RevocationTest : public ::testing::Test {
 protected:
  const CertificateAndKey ca_ = MakeCa();
  const CertificateAndKey kb_ = Issue(ca_, Role::kSite, "kb");
  const CertificateAndKey igr_ = Issue(ca_, Role::kSite, "igr");
};

TEST_F(RevocationTest, ReasonNamesRoundTrip) {
  for (const char* name :
       {"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
        "cessationOfOperation", "certificateHold", "privilegeWithdrawn", "aACompromise"}) {
    absl::StatusOr<RevocationReason> reason = ParseRevocationReason(name);
    ASSERT_TRUE(reason.ok()) << name;
    EXPECT_EQ(ReasonName(*reason), name);
  }
  absl::StatusOr<RevocationReason> bad = ParseRevocationReason("removeFromCRL");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("keyCompromise"));
}

TEST_F(RevocationTest, CrlRoundTripsEntriesDatesAndNumber) {
  const std::string pem =
      Crl(ca_, {Revoked(kb_.certificate_pem, RevocationReason::kKeyCompromise)}, /*number=*/42);
  EXPECT_THAT(pem, HasSubstr("BEGIN X509 CRL"));
  absl::StatusOr<RevocationList> list = RevocationList::Parse(pem, ca_.certificate_pem);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->crl_number(), 42u);
  EXPECT_EQ(list->next_update() - list->this_update(), absl::Hours(24 * 7));
  EXPECT_LE(absl::AbsDuration(list->this_update() - absl::Now()), absl::Seconds(5));
  EXPECT_FALSE(list->IsExpiredAt(absl::Now()));
  ASSERT_THAT(list->entries(), SizeIs(1));
  const RevokedCertificate* entry = list->Find(Serial(kb_.certificate_pem));
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->reason, RevocationReason::kKeyCompromise);
  EXPECT_EQ(entry->revoked_at, absl::FromUnixSeconds(1'700'000'000));
  EXPECT_EQ(list->Find(Serial(igr_.certificate_pem)), nullptr);
}

TEST_F(RevocationTest, CheckCertificateNamesSerialAndReasonButNoKey) {
  const std::string pem =
      Crl(ca_, {Revoked(kb_.certificate_pem, RevocationReason::kKeyCompromise)}, 3);
  absl::StatusOr<RevocationList> list = RevocationList::Parse(pem, ca_.certificate_pem);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->CheckCertificate(igr_.certificate_pem).ok());
  const absl::Status refused = list->CheckCertificate(kb_.certificate_pem);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(refused.message(), HasSubstr("serial " + Serial(kb_.certificate_pem)));
  EXPECT_THAT(refused.message(), HasSubstr("CN=kb,OU=site"));
  EXPECT_THAT(refused.message(), HasSubstr("keyCompromise"));
  EXPECT_THAT(refused.message(), HasSubstr("CRL 3"));
  EXPECT_THAT(refused.message(), Not(HasSubstr("PRIVATE")));
}

TEST_F(RevocationTest, CrlOfAnotherCaOrAlteredIsRefused) {
  const CertificateAndKey rogue = MakeCa("Rogue");
  const std::string foreign = Crl(rogue, {});
  EXPECT_EQ(RevocationList::Parse(foreign, ca_.certificate_pem).status().code(),
            absl::StatusCode::kUnauthenticated);
  // Same subject, other key: the issuer name matches but the signature does not.
  const CertificateAndKey twin = MakeCa("Test Consortium");
  absl::StatusOr<RevocationList> forged = RevocationList::Parse(Crl(twin, {}), ca_.certificate_pem);
  EXPECT_EQ(forged.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(forged.status().message(), HasSubstr("signature does not verify"));
  EXPECT_EQ(RevocationList::Parse("junk", ca_.certificate_pem).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RevocationTest, CreateCrlRefusesBadInput) {
  CrlOptions options;
  options.valid_days = 0;
  EXPECT_EQ(CreateCrl(ca_, {}, options).status().code(), absl::StatusCode::kInvalidArgument);
  options.valid_days = 7;
  EXPECT_EQ(CreateCrl(ca_, {{"not-hex", absl::Now(), RevocationReason::kUnspecified}}, options)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RevocationTest, RevocationRecordOnlyForThisCasLeafCertificates) {
  absl::StatusOr<RevocationRecord> record =
      RevocationRecordFor(kb_.certificate_pem, ca_.certificate_pem, RevocationReason::kSuperseded,
                          absl::FromUnixSeconds(1'700'000'000) + absl::Milliseconds(300));
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->revoked.serial_hex, Serial(kb_.certificate_pem));
  EXPECT_EQ(record->revoked.revoked_at, absl::FromUnixSeconds(1'700'000'000));
  EXPECT_EQ(record->subject, "CN=kb,OU=site,O=Test Consortium");

  const CertificateAndKey rogue = MakeCa("Test Consortium");
  const CertificateAndKey foreign = Issue(rogue, Role::kSite, "kb");
  absl::StatusOr<RevocationRecord> r = RevocationRecordFor(
      foreign.certificate_pem, ca_.certificate_pem, RevocationReason::kUnspecified, absl::Now());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("not issued by this CA"));
  r = RevocationRecordFor(ca_.certificate_pem, ca_.certificate_pem, RevocationReason::kUnspecified,
                          absl::Now());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RevocationIndexTest, RoundTripAndRefusals) {
  const std::vector<RevocationRecord> records = {
      {{"0A1B", absl::FromUnixSeconds(1'700'000'000), RevocationReason::kKeyCompromise},
       "CN=kb,OU=site,O=Test Consortium"},
      {{"FF", absl::FromUnixSeconds(1'700'000'100), RevocationReason::kAffiliationChanged},
       "CN=igr,OU=site,O=Test Consortium"}};
  const std::string text = FormatRevocationIndex(records);
  absl::StatusOr<std::vector<RevocationRecord>> parsed = ParseRevocationIndex(text, "revoked.txt");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_THAT(*parsed, SizeIs(2));
  EXPECT_EQ((*parsed)[1].revoked.serial_hex, "FF");
  EXPECT_EQ((*parsed)[1].revoked.revoked_at, absl::FromUnixSeconds(1'700'000'100));
  EXPECT_EQ((*parsed)[1].revoked.reason, RevocationReason::kAffiliationChanged);
  EXPECT_EQ((*parsed)[0].subject, "CN=kb,OU=site,O=Test Consortium");

  absl::StatusOr<std::vector<RevocationRecord>> twice =
      ParseRevocationIndex(text + text.substr(text.find('\n') + 1), "revoked.txt");
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(twice.status().message(), HasSubstr("recorded twice"));
  EXPECT_THAT(
      ParseRevocationIndex("zz\t2024-01-01T00:00:00Z\tunspecified\tx\n", "f").status().message(),
      HasSubstr("f:1: serial"));
  EXPECT_FALSE(ParseRevocationIndex("0A\tyesterday\tunspecified\tx\n", "f").ok());
  EXPECT_FALSE(ParseRevocationIndex("0A\t2024-01-01T00:00:00Z\tbad\tx\n", "f").ok());
  EXPECT_FALSE(ParseRevocationIndex("0A 2024-01-01T00:00:00Z unspecified x\n", "f").ok());
}

class RevocationCheckerTest : public RevocationTest {
 protected:
  void Publish(const std::string& pem) {
    ASSERT_TRUE(WriteFileWithMode(path_, pem, 0644, Overwrite::kAllow).ok());
  }
  std::unique_ptr<RevocationChecker> Open() {
    RevocationCheckerOptions options;
    options.clock = &clock_;
    options.warn = [this](const absl::Status& s) { warnings_.push_back(std::string(s.message())); };
    auto checker = RevocationChecker::Open(ca_.certificate_pem, path_, options);
    EXPECT_TRUE(checker.ok()) << checker.status();
    return checker.ok() ? std::move(*checker) : nullptr;
  }

  ScopedTempDir tmp_;
  const std::string path_ = tmp_.path() + "/crl.pem";
  FakeClock clock_{absl::Now()};
  std::vector<std::string> warnings_;
};

TEST_F(RevocationCheckerTest, ReloadsWhenTheFileChangesWithoutRestart) {
  Publish(Crl(ca_, {}, 1));
  std::unique_ptr<RevocationChecker> checker = Open();
  ASSERT_NE(checker, nullptr);
  EXPECT_TRUE(checker->Check(kb_.certificate_pem).ok());
  Publish(Crl(ca_, {Revoked(kb_.certificate_pem, RevocationReason::kKeyCompromise)}, 2));
  const absl::Status refused = checker->Check(kb_.certificate_pem);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(refused.message(), HasSubstr(Serial(kb_.certificate_pem)));
  EXPECT_TRUE(checker->Check(igr_.certificate_pem).ok());
  EXPECT_EQ(checker->crl_number(), 2u);
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(RevocationCheckerTest, ExpiredCrlIsAppliedAndReportedLoudly) {
  Publish(Crl(ca_, {Revoked(kb_.certificate_pem, RevocationReason::kUnspecified)}, 1,
              /*offset_s=*/-10 * kDay, /*days=*/7));
  std::unique_ptr<RevocationChecker> checker = Open();
  ASSERT_NE(checker, nullptr);
  ASSERT_THAT(warnings_, SizeIs(1));
  EXPECT_THAT(warnings_[0], HasSubstr("EXPIRED"));
  EXPECT_THAT(warnings_[0], HasSubstr(path_));
  // Still applied: not a silent accept, not a silent refusal of everyone either.
  EXPECT_EQ(checker->Check(kb_.certificate_pem).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(checker->Check(igr_.certificate_pem).ok());
  EXPECT_THAT(warnings_, SizeIs(1));  // not on every call...
  clock_.Advance(absl::Minutes(11));
  EXPECT_TRUE(checker->Check(igr_.certificate_pem).ok());
  EXPECT_THAT(warnings_, SizeIs(2));  // ...but again while it stays expired
  // A fresh CRL ends the reports.
  Publish(Crl(ca_, {}, 2));
  clock_.Advance(absl::Minutes(11));
  EXPECT_TRUE(checker->Check(kb_.certificate_pem).ok());
  EXPECT_THAT(warnings_, SizeIs(2));
}

TEST_F(RevocationCheckerTest, CrlExpiringWhileInUseIsReported) {
  Publish(Crl(ca_, {}, 1, 0, /*days=*/1));
  std::unique_ptr<RevocationChecker> checker = Open();
  ASSERT_NE(checker, nullptr);
  EXPECT_TRUE(warnings_.empty());
  clock_.Advance(absl::Hours(25));
  EXPECT_TRUE(checker->Check(kb_.certificate_pem).ok());
  ASSERT_THAT(warnings_, SizeIs(1));
  EXPECT_THAT(warnings_[0], HasSubstr("EXPIRED"));
}

TEST_F(RevocationCheckerTest, UnusableReplacementKeepsTheCrlInUse) {
  Publish(Crl(ca_, {Revoked(kb_.certificate_pem, RevocationReason::kKeyCompromise)}, 5));
  std::unique_ptr<RevocationChecker> checker = Open();
  ASSERT_NE(checker, nullptr);
  // A forged CRL (another key) that would un-revoke kb.
  Publish(Crl(MakeCa("Test Consortium"), {}, 6));
  EXPECT_EQ(checker->Check(kb_.certificate_pem).code(), absl::StatusCode::kUnauthenticated);
  ASSERT_THAT(warnings_, SizeIs(1));
  EXPECT_THAT(warnings_[0], HasSubstr("cannot be used, still applying CRL 5"));
  // An older, genuine CRL (a rollback) that would un-revoke kb.
  Publish(Crl(ca_, {}, 4));
  EXPECT_EQ(checker->Check(kb_.certificate_pem).code(), absl::StatusCode::kUnauthenticated);
  ASSERT_THAT(warnings_, SizeIs(2));
  EXPECT_THAT(warnings_[1], HasSubstr("older than CRL 5"));
  // The file removed.
  std::remove(path_.c_str());
  EXPECT_EQ(checker->Check(kb_.certificate_pem).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(warnings_, SizeIs(3));
  EXPECT_EQ(checker->crl_number(), 5u);
}

TEST_F(RevocationCheckerTest, OpenRefusesMissingOrForeignCrl) {
  EXPECT_EQ(RevocationChecker::Open(ca_.certificate_pem, path_).status().code(),
            absl::StatusCode::kNotFound);
  Publish(Crl(MakeCa("Rogue"), {}));
  absl::StatusOr<std::unique_ptr<RevocationChecker>> checker =
      RevocationChecker::Open(ca_.certificate_pem, path_);
  EXPECT_EQ(checker.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(checker.status().message(), HasSubstr(path_));
}

}  // namespace
}  // namespace scancov::sites
