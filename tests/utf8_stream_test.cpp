// The text `attention generate` prints as tokens come (apps/lm/utf8_stream.h): complete UTF-8 only, the same
// however the bytes are cut, and one line per continuation of a batch.
#include "lm/utf8_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace attention::app {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";

/// The text of `bytes` given one byte at a time.
std::string byte_by_byte(const std::string& bytes) {
  Utf8Stream stream;
  std::string text;
  for (const char byte : bytes) {
    text += stream.push(std::string(1, byte));
  }
  return text + stream.finish();
}

TEST(Utf8StreamTest, HoldsACharacterUntilItIsComplete) {
  Utf8Stream stream;
  EXPECT_EQ(stream.push("hi \xF0\x9F"), "hi ");  // 😀 cut after two of its four bytes, as a token may end
  EXPECT_EQ(stream.push("\x98"), "");
  EXPECT_EQ(stream.push("\x80!"), "\xF0\x9F\x98\x80!");
  EXPECT_EQ(stream.finish(), "");
}

TEST(Utf8StreamTest, InvalidBytesBecomeOneReplacementEach) {
  EXPECT_EQ(byte_by_byte("a\xFF"
                         "b"),
            "a" + kReplacement + "b");
  EXPECT_EQ(byte_by_byte("\xC3(x"), kReplacement + "(x");                               // a lead byte alone
  EXPECT_EQ(byte_by_byte("\xE0\x80\x80"), kReplacement + kReplacement + kReplacement);  // overlong
  EXPECT_EQ(byte_by_byte("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);  // a surrogate
  EXPECT_EQ(byte_by_byte("\xF0\x9F\x98z"), kReplacement + "z");                         // cut short by the next byte
  EXPECT_EQ(byte_by_byte("ok\xF0\x9F\x98"), "ok" + kReplacement);                       // cut short by the end
}

TEST(Utf8StreamTest, TheTextDoesNotDependOnHowTheBytesAreCut) {
  const std::vector<std::string> streams = {"caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80",
                                            "\x80\xC3\xC3\xA9\xF0\x9F\xE2\x82\xAC\xFF\xF4\x90\x80\x80x"};
  for (const auto& bytes : streams) {
    Utf8Stream whole;
    auto expected = whole.push(bytes);
    expected += whole.finish();
    EXPECT_EQ(byte_by_byte(bytes), expected);
    for (size_t cut = 0; cut <= bytes.size(); ++cut) {
      Utf8Stream halves;
      auto text = halves.push(bytes.substr(0, cut));  // one statement each: the pushes are in order
      text += halves.push(bytes.substr(cut));
      text += halves.finish();
      EXPECT_EQ(text, expected) << "cut at " << cut;
    }
  }
}

TEST(Utf8StreamTest, EscapedLineKeepsAContinuationOnOneLine) {
  EXPECT_EQ(escaped_line("a\nb\\n\r\tc"), "a\\nb\\\\n\\r\tc");
  EXPECT_EQ(escaped_line(""), "");
}

}  // namespace
}  // namespace attention::app
