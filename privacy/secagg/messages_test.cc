#include "privacy/secagg/messages.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "privacy/secagg/secure_random.h"

namespace scancov::privacy::secagg {
namespace {

using ::testing::HasSubstr;

KeyAdvert Advert(const std::string& site) {
  KeyAdvert a{"study-7", 3, site, {}, {}, "sig-of-" + site};
  a.c_public.fill(1);
  a.s_public.fill(2);
  return a;
}

ShamirShare Share(uint8_t index) {
  ShamirShare s{index, {}};
  s.value.fill(index);
  return s;
}

template <typename T>
T RoundTrip(const T& message) {
  auto parsed = T::Parse(message.Serialize());
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Serialize(), message.Serialize());
  return *parsed;
}

TEST(MessagesTest, EveryMessageRoundTrips) {
  EXPECT_EQ(RoundTrip(Advert("site-a")).site_id, "site-a");
  AdvertList list{"study-7", 3, {Advert("site-a"), Advert("site-b")}};
  EXPECT_EQ(RoundTrip(list).adverts[1].signature, "sig-of-site-b");
  EncryptedShare share{"site-a", "site-b", std::string(90, 'x')};
  EXPECT_EQ(RoundTrip(ShareKeysMessage{"study-7", 3, "site-a", {share}}).shares[0].recipient,
            "site-b");
  EXPECT_EQ(RoundTrip(ShareBundle{"study-7", 3, "site-b", {share, share}}).shares.size(), 2u);
  EXPECT_EQ(RoundTrip(SharePlaintext{"site-a", "site-b", Share(2), Share(3)}).seed_share.index, 3);
  MaskedInput input{"study-7", 3, "site-a", {0, 1, ~uint64_t{0}, 0x0123456789abcdefull}};
  EXPECT_EQ(RoundTrip(input).masked, input.masked);
  UnmaskRequest request{"study-7", 3, "site-a", {"site-a", "site-b"}, {"site-c"}};
  EXPECT_EQ(RoundTrip(request).dropped, std::vector<std::string>{"site-c"});
  UnmaskResponse response{"study-7",
                          3,
                          "site-a",
                          {{"site-a", ShareKind::kSelfMaskSeed, Share(1)},
                           {"site-c", ShareKind::kMaskingKey, Share(1)}}};
  EXPECT_EQ(RoundTrip(response).shares[1].kind, ShareKind::kMaskingKey);
}

TEST(MessagesTest, EveryTruncationIsRefused) {
  const std::string bytes =
      UnmaskResponse{"study-7", 3, "site-a", {{"site-a", ShareKind::kSelfMaskSeed, Share(1)}}}
          .Serialize();
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto parsed = UnmaskResponse::Parse(bytes.substr(0, len));
    ASSERT_FALSE(parsed.ok()) << len;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  }
  auto cut = KeyAdvert::Parse(Advert("site-a").Serialize().substr(0, 30));
  EXPECT_THAT(cut.status().message(), HasSubstr("secagg KeyAdvert: field"));
  EXPECT_THAT(cut.status().message(), HasSubstr("truncated"));
}

TEST(MessagesTest, TrailingWrongTypeAndGarbageAreRefused) {
  const std::string advert = Advert("site-a").Serialize();
  EXPECT_THAT(KeyAdvert::Parse(advert + "x").status().message(), HasSubstr("1 unexpected bytes"));
  EXPECT_THAT(MaskedInput::Parse(advert).status().message(), HasSubstr("message type"));
  EXPECT_THAT(MaskedInput::Parse("GET / HTTP/1.1\r\n").status().message(),
              HasSubstr("not a secagg message"));
  DeterministicRandom random(1);
  for (int i = 0; i < 200; ++i) {
    std::vector<uint8_t> noise(1 + i);
    ASSERT_TRUE(random.Fill(absl::MakeSpan(noise)).ok());
    std::string bytes(noise.begin(), noise.end());
    bytes.replace(0, std::min<size_t>(6, bytes.size()), advert.substr(0, 6));  // a valid header
    EXPECT_FALSE(KeyAdvert::Parse(bytes).ok());
  }
}

TEST(MessagesTest, OversizedLengthsAreRefusedBeforeAllocating) {
  std::string bytes = MaskedInput{"study-7", 3, "site-a", {1, 2}}.Serialize();
  // The element count is the u32 right before the 16 bytes of elements.
  const size_t count_at = bytes.size() - 16 - 4;
  bytes[count_at + 3] = 0x7f;  // ~2^30 elements
  auto parsed = MaskedInput::Parse(bytes);
  EXPECT_THAT(parsed.status().message(), HasSubstr("exceeds the maximum"));
  bytes[count_at + 3] = 0x00;
  bytes[count_at + 2] = 0x01;  // 65538 elements, 16 bytes present
  EXPECT_THAT(MaskedInput::Parse(bytes).status().message(), HasSubstr("truncated"));
  KeyAdvert long_id = Advert(std::string(300, 's'));
  EXPECT_THAT(KeyAdvert::Parse(long_id.Serialize()).status().message(),
              HasSubstr("field 'site_id'"));
}

}  // namespace
}  // namespace scancov::privacy::secagg
