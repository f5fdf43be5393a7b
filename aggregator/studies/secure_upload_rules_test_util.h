// The upload rules every securely summed analysis kind shares (StudyLogic::ValidateResult under
// "privacy.secure_aggregation", docs/privacy.md): in a secure study an answer's numbers come
// masked (its clear part with the masked vector), a refusal alone; in a plain study the answer
// comes in clear and never with a vector. Each kind's study test calls it with its own answers.
#ifndef SCANCOV_AGGREGATOR_STUDIES_SECURE_UPLOAD_RULES_TEST_UTIL_H_
#define SCANCOV_AGGREGATOR_STUDIES_SECURE_UPLOAD_RULES_TEST_UTIL_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aggregator/server/study_logic.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator::testing {

struct SecureUploads {
  v1::UploadHeader in_clear;   // the whole answer in its result JSON
  v1::UploadHeader masked;     // its clear part only (wire::ClearPart)
  v1::UploadHeader refusal;    // a refusal: no numbers
  protocol::TensorSet vector;  // a masked vector of the round's layout
};

inline void ExpectSecureUploadRules(StudyLogic& secure, StudyLogic& plain, const TaskRecord& task,
                                    const SecureUploads& u) {
  using ::testing::HasSubstr;
  EXPECT_TRUE(secure.ValidateResult(task, u.masked, &u.vector, nullptr).ok());
  EXPECT_TRUE(secure.ValidateResult(task, u.refusal, nullptr, nullptr).ok());
  EXPECT_TRUE(plain.ValidateResult(task, u.in_clear, nullptr, nullptr).ok());
  EXPECT_THAT(secure.ValidateResult(task, u.in_clear, nullptr, nullptr).message(),
              HasSubstr("an answer's numbers travel masked"));
  EXPECT_THAT(secure.ValidateResult(task, u.masked, nullptr, nullptr).message(),
              HasSubstr("comes with its masked vector"));
  EXPECT_THAT(secure.ValidateResult(task, u.refusal, &u.vector, nullptr).message(),
              HasSubstr("a refusal carries no masked vector"));
  EXPECT_THAT(plain.ValidateResult(task, u.masked, nullptr, nullptr).message(),
              HasSubstr("without secure aggregation"));
  EXPECT_THAT(plain.ValidateResult(task, u.in_clear, &u.vector, nullptr).message(),
              HasSubstr("carry no weights"));
}

}  // namespace scancov::aggregator::testing

#endif  // SCANCOV_AGGREGATOR_STUDIES_SECURE_UPLOAD_RULES_TEST_UTIL_H_
