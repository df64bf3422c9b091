// read_state_dict on files made to be wrong: crafted safetensors headers, crafted torch.save pickles, and every
// truncation and corrupted byte of PyTorch's own files. Each gives a value or a c10::Error naming the file. First,
// the JSON reader of safetensors headers on its own.
#include <attention/attention.h>

#include "test_support.h"
#include "weight_file_support.h"
#include "weights/json_reader.h"

#include <caffe2/serialize/inline_container.h>

#include <tuple>

namespace attention {
namespace {

using testing::read_bytes;
using testing::state_dict_file;
using testing::write_bytes;
using testing::write_safetensors_raw;

using WeightFilesTest = testing::ScratchFolderTest;

// ------------------------------------------------------------------------------------------------ JSON reader

using detail::parse_json;

// The message of the c10::Error that parsing `text` throws (its file named "h.json", `text` at `first_byte`),
// or "" when it parses.
std::string json_error(const std::string& text, uint64_t first_byte = 0) {
  try {
    parse_json(text, "h.json: not JSON", first_byte);
    return "";
  } catch (const c10::Error& error) {
    return error.what_without_backtrace();
  }
}

// Each text gives the error message after "h.json: not JSON: ".
void expect_errors(const std::vector<std::pair<std::string, std::string>>& cases) {
  for (const auto& [text, message] : cases) {
    SCOPED_TRACE(text);
    EXPECT_EQ(json_error(text), "h.json: not JSON: " + message);
  }
}

TEST(WeightFilesJsonTest, ValuesOfEveryKindInTheirOrder) {
  const auto value = parse_json(
      " {\"z\" : null, \"t\":true,\"f\" :false ,\"n\":42,\"s\":\"x\",\r\n\t\"a\":[1, [2, []], "
      "{}],\"o\":{\"k\":\"v\"}} ",
      "h.json");
  ASSERT_TRUE(value.is_object());
  std::vector<std::string> keys;
  for (const auto& member : value.items()) {
    keys.push_back(member.key());
  }
  EXPECT_EQ(keys, std::vector<std::string>({"z", "t", "f", "n", "s", "a", "o"}));  // as written, not sorted
  EXPECT_TRUE(value["z"].is_null());
  EXPECT_EQ(value["t"], true);
  EXPECT_EQ(value["f"], false);
  EXPECT_TRUE(value["n"].is_number_unsigned());
  EXPECT_EQ(value["n"].get<uint64_t>(), 42u);
  EXPECT_EQ(value["s"], "x");
  ASSERT_EQ(value["a"].size(), 3u);
  EXPECT_EQ(value["a"][1][0], 2);
  EXPECT_TRUE(value["a"][1][1].is_array());
  EXPECT_TRUE(value["a"][1][1].empty());
  EXPECT_TRUE(value["a"][2].is_object());
  EXPECT_EQ(value["o"]["k"], "v");
  EXPECT_EQ(value.dump(), R"({"z":null,"t":true,"f":false,"n":42,"s":"x","a":[1,[2,[]],{}],"o":{"k":"v"}})");
  for (const auto* scalar : {"null", "true", "false", "0", "\"\"", "[]", "{}"}) {
    EXPECT_EQ(parse_json(scalar, "h.json").dump(), scalar);
  }
}

TEST(WeightFilesJsonTest, StringsWithEveryEscapeAndUtf8) {
  const auto value = parse_json(R"("\"\\\/\b\f\n\r\t|\u0041\u00e9\u20AC\ud83d\ude00|\u0000|é€😀")", "h.json");
  ASSERT_TRUE(value.is_string());
  EXPECT_EQ(value.get<std::string>(), std::string("\"\\/\b\f\n\r\t|A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|") +
                                          std::string(1, '\0') + "|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  const auto edges = parse_json(R"(["\u007f\u001f", "\uDBFF\uDFFF", "\uD800\uDC00"])", "h.json");
  EXPECT_EQ(edges[0], "\x7f\x1f");
  EXPECT_EQ(edges[1], "\xf4\x8f\xbf\xbf");  // U+10FFFF, the last code point
  EXPECT_EQ(edges[2], "\xf0\x90\x80\x80");  // U+10000, the first of the pairs
}

TEST(WeightFilesJsonTest, NumbersAndWhichAreCounts) {
  // Counts (unsigned: no sign, fraction or exponent, within 64 bits) are what shapes and data_offsets hold.
  const std::tuple<const char*, bool, double> numbers[] = {
      {"0", true, 0.0},
      {"7", true, 7.0},
      {"18446744073709551615", true, 18446744073709551615.0},   // the largest uint64_t
      {"18446744073709551616", false, 18446744073709551616.0},  // one more: a number, but no count
      {"99999999999999999999999999", false, 99999999999999999999999999.0},
      {"-0", false, 0.0},
      {"-12", false, -12.0},
      {"1.0", false, 1.0},
      {"1e2", false, 100.0},
      {"-0.5E-3", false, -0.0005},
      {"2.5e+10", false, 2.5e10},
  };
  for (const auto& [text, is_count, number] : numbers) {
    SCOPED_TRACE(text);
    const auto value = parse_json(text, "h.json");
    ASSERT_TRUE(value.is_number());
    EXPECT_EQ(value.is_number_unsigned(), is_count);
    EXPECT_EQ(value.get<double>(), number);
  }
  EXPECT_EQ(parse_json("18446744073709551615", "h.json").get<uint64_t>(), 18446744073709551615u);
  EXPECT_EQ(json_error("[1e400]"), "h.json: not JSON: number overflow parsing '1e400' at byte 5");  // beyond double
}

TEST(WeightFilesJsonTest, NestingUpToTheLimit) {
  const auto depth = detail::kMaxJsonDepth;
  EXPECT_EQ(json_error(std::string(depth, '[') + std::string(depth, ']')), "");
  std::string mixed;  // {"a":[{"a":[...]}]}, `depth` deep
  for (size_t i = 0; i < depth / 2; ++i) {
    mixed = "{\"a\":[" + mixed + "]}";
  }
  EXPECT_EQ(json_error(mixed), "");
  // The 101st '[' is byte 100.
  EXPECT_EQ(json_error(std::string(depth + 1, '[') + std::string(depth + 1, ']')),
            "h.json: not JSON: arrays and objects nested more than 100 deep at byte 100");
  EXPECT_EQ(json_error(std::string(100000, '[')),  // refused at the limit, not after 100000 levels
            "h.json: not JSON: arrays and objects nested more than 100 deep at byte 100");
  std::string objects;  // {"a": is 5 bytes: the 101st '{' is byte 500
  for (size_t i = 0; i <= depth; ++i) {
    objects += "{\"a\":";
  }
  EXPECT_EQ(json_error(objects), "h.json: not JSON: arrays and objects nested more than 100 deep at byte 500");
}

// Byte offsets: where nlohmann-json's parser found the error, so the last byte of a token that does not belong
// there, the first byte that breaks a token, or the text's length when it ends too soon.
TEST(WeightFilesJsonTest, MalformedTextIsRefusedAtItsByte) {
  const std::string value = "syntax error while parsing value - ";
  expect_errors({
      {"", "no JSON value, the text is empty at byte 0"},
      {"   ", value + "unexpected end of input; expected '[', '{', or a literal at byte 3"},
      {"{", "syntax error while parsing object key - unexpected end of input; expected string literal at byte 1"},
      {R"({"a" 1})", "syntax error while parsing object separator - unexpected number literal; expected ':' at byte 5"},
      {R"({"a":1,})", "syntax error while parsing object key - unexpected '}'; expected string literal at byte 7"},
      {R"({"a":1 "bcd":2})",
       "syntax error while parsing object - unexpected string literal; expected '}' at byte 11"},  // "bcd" ends there
      {"{a:1}", "syntax error while parsing object key - invalid literal; expected string literal at byte 1"},
      {"[1,2", "syntax error while parsing array - unexpected end of input; expected ']' at byte 4"},
      {"[1,]", value + "unexpected ']'; expected '[', '{', or a literal at byte 3"},
      {"[1 23]", "syntax error while parsing array - unexpected number literal; expected ']' at byte 4"},
      {"[1,2]]", value + "unexpected ']'; expected end of input at byte 5"},
      {R"({"a":1}x)", value + "invalid literal; expected end of input at byte 7"},
      {"{}{}", value + "unexpected '{'; expected end of input at byte 2"},
      {"[tru]", value + "invalid literal at byte 4"},  // ']' where 'e' belongs
      {"[True]", value + "invalid literal at byte 1"},
      {"[NaN]", value + "invalid literal at byte 1"},
      {"[01]", "syntax error while parsing array - unexpected number literal; expected ']' at byte 2"},  // 0, then 1
      {"[-]", value + "invalid number; expected digit after '-' at byte 2"},
      {"[+1]", value + "invalid literal at byte 1"},
      {"[.5]", value + "invalid literal at byte 1"},
      {"[1.]", value + "invalid number; expected digit after '.' at byte 3"},
      {"[1e+]", value + "invalid number; expected digit after exponent sign at byte 4"},
      {R"(["abc)", value + "invalid string: missing closing quote at byte 5"},
      {R"(["a\q"])", value + "invalid string: forbidden character after backslash at byte 4"},
      {R"(["\u12G4"])", value + "invalid string: '\\u' must be followed by 4 hex digits at byte 6"},
      {"\xc3\xa9", value + "invalid literal at byte 0"},  // é outside a string
  });
  // Offsets count from where the text starts in its file.
  EXPECT_EQ(json_error("{]", 8),
            "h.json: not JSON: syntax error while parsing object key - unexpected ']'; "
            "expected string literal at byte 9");
}

// nlohmann-json checks the strings: UTF-8 (RFC 3629), escapes of surrogates in pairs, no control characters.
TEST(WeightFilesJsonTest, StringsMustBeUtf8WithoutLoneSurrogatesOrControlCharacters) {
  const std::string invalid = "syntax error while parsing value - invalid string: ";
  const std::string not_utf8 = invalid + "ill-formed UTF-8 byte at byte ";
  const std::string high = invalid + "surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF at byte ";
  expect_errors({
      {"[\"\xff\"]", not_utf8 + "2"},
      {"[\"ab\x80\"]", not_utf8 + "4"},            // a continuation byte alone
      {"[\"\xc0\xaf\"]", not_utf8 + "2"},          // '/' in two bytes (overlong): 0xc0 never leads
      {"[\"\xe0\x80\xaf\"]", not_utf8 + "3"},      // overlong in three: after 0xe0, 0xa0-0xbf
      {"[\"\xed\xa0\x80\"]", not_utf8 + "3"},      // a surrogate, U+D800: after 0xed, 0x80-0x9f
      {"[\"\xf4\x90\x80\x80\"]", not_utf8 + "3"},  // above U+10FFFF: after 0xf4, 0x80-0x8f
      {"[\"\xe2\x82\"]", not_utf8 + "4"},          // cut short: '"' where the third byte belongs
      {R"(["\uD800"])", high + "8"},               // '"' where the low surrogate's '\' belongs
      {R"(["\uD800\u0041"])", high + "13"},        // the last hex digit of a low surrogate that is not one
      {R"(["\uDC00\uD800"])", invalid + "surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF at byte 7"},
      {"[\"a\nb\"]", invalid + "control character U+000A (LF) must be escaped to \\u000A or \\n at byte 3"},
      {"[\"\t\"]", invalid + "control character U+0009 (HT) must be escaped to \\u0009 or \\t at byte 2"},
      {std::string("[\"\0\"]", 5), invalid + "control character U+0000 (NUL) must be escaped to \\u0000 at byte 2"},
  });
}

TEST(WeightFilesJsonTest, DuplicateKeysAreRefusedAtTheSecond) {
  const std::string duplicate = "duplicate key ";
  const std::string once = " (a key may appear once in an object) at byte ";
  expect_errors({
      {R"({"a":1,"a":2})", duplicate + "\"a\"" + once + "7"},
      {R"({"a":{},"b":{"a":1,"\u0061":2}})", duplicate + "\"a\"" + once + "19"},  // the same key, decoded
      {R"({"\n":1,"\u000a":2})", duplicate + "\"\\n\"" + once + "8"},
      {R"({"a\"":1, "a\"" :2})", duplicate + "\"a\\\"\"" + once + "10"},  // a quote inside the key
      {R"({"x\\":1,"x\\":2})", duplicate + "\"x\\\\\"" + once + "9"},     // a backslash before its end
  });
  EXPECT_EQ(json_error(R"({"a":{"a":1},"b":[{"a":2},{"a":3}]})"), "");  // once in each object
}

// Where nlohmann-json parts from the safetensors format's reader (serde_json): it skips a byte order mark and
// takes a NUL byte for the end of the text.
TEST(WeightFilesJsonTest, ByteOrderMarkAndBytesAfterANulAreRefused) {
  expect_errors({
      {"\xef\xbb\xbf{}", "a UTF-8 byte order mark before the JSON value at byte 0"},
      {std::string("[1]\0", 4), "a NUL byte after the JSON value at byte 3"},
      {std::string("{} \0{}", 6), "a NUL byte after the JSON value at byte 3"},
      {std::string("1\0", 2), "a NUL byte after the JSON value at byte 1"},
  });
  EXPECT_EQ(json_error("\xef\xbb\xbf{}", 8),
            "h.json: not JSON: a UTF-8 byte order mark before the JSON value at byte 8");
}

// ------------------------------------------------------------------------------------------------ safetensors

TEST_F(WeightFilesTest, SafetensorsValuesDtypesAndMetadata) {
  const float floats[] = {1.5f, -2.0f};
  const unsigned char bools[] = {0, 1, 2};
  write_safetensors_raw(
      path("a.safetensors"),
      R"({"__metadata__":{"format":"pt"},"f":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"BOOL","shape":[3],"data_offsets":[8,11]},)"
      R"("e":{"dtype":"F16","shape":[0,5],"data_offsets":[11,11]}})",
      std::string(reinterpret_cast<const char*>(floats), 8) + std::string(reinterpret_cast<const char*>(bools), 3));
  const auto tensors = read_state_dict(path("a.safetensors"));
  EXPECT_EQ(tensors.keys(), std::vector<std::string>({"f", "b", "e"}));
  EXPECT_TRUE(torch::equal(tensors["f"], torch::tensor({1.5f, -2.0f})));
  EXPECT_TRUE(torch::equal(tensors["b"], torch::tensor({false, true, true})));  // any non-zero byte is true
  EXPECT_EQ(tensors["e"].sizes(), torch::IntArrayRef({0, 5}));
  EXPECT_EQ(tensors["e"].scalar_type(), torch::kHalf);
}

TEST_F(WeightFilesTest, SafetensorsHeaderWithEscapesWhitespaceAndPadding) {
  const float floats[] = {1.5f, -2.0f};
  // As the safetensors library writes it, the header padded with spaces to a multiple of 8 bytes.
  std::string header =
      R"({"__metadata__": {"n\u00e9": "\ud83d\ude00", "format": "pt"},)"
      "\n  \"w\\/x.\\u0062\" : {\"data_offsets\": [0, 8], \"dtype\": \"F32\", \"shape\": [ 2 ], \"extra\": null}}";
  header += std::string((8 - header.size() % 8) % 8, ' ');
  write_safetensors_raw(path("a.safetensors"), header, std::string(reinterpret_cast<const char*>(floats), 8));
  const auto tensors = read_state_dict(path("a.safetensors"));
  EXPECT_EQ(tensors.keys(), std::vector<std::string>({"w/x.b"}));
  EXPECT_TRUE(torch::equal(tensors["w/x.b"], torch::tensor({1.5f, -2.0f})));
}

TEST_F(WeightFilesTest, SafetensorsHeadersThatLieAreRefused) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}})",
       R"(tensor 'a' has "data_offsets" [0,12]: each must be an integer from 0 to 8)"},
      {R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
       "tensor 'a' of shape [3] and dtype F32 does not fill its 8 bytes (data_offsets [0,8])"},
      {R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
       "tensor 'a' of shape [4294967296, 4294967296] and dtype F32 does not fill its 8 bytes"},
      {R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})",
       R"(tensor 'a' has "shape" [-2]: each must be an integer from 0 to)"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})",
       "tensor 'a' has data_offsets [8,0]; they must be [begin, end] within the 8 data bytes"},
      {R"({"a":{"dtype":"U32","shape":[2],"data_offsets":[0,8]}})",
       "tensor 'a' has dtype U32, which is not read (only F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)"},
      {R"({"a":{"dtype":"F32"}})", R"(tensor 'a' needs "dtype", "shape" and "data_offsets")"},
      {R"({"a":{"dtype":"F32","shape":[2],)",
       "the safetensors header is not valid JSON: syntax error while parsing object key - unexpected end of input; "
       "expected string literal at byte 40"},  // counted in the file: 8 bytes of header length, then the header
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
       "the safetensors header is not valid JSON: duplicate key \"a\" (a key may appear once in an object) at byte 62"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}})",
       "the safetensors header is not valid JSON: syntax error while parsing value - unexpected '}'; expected end of "
       "input at byte 62"},
      {R"({"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}})",
       R"(tensor 'a' has "shape" [1.8446744073709552e+19]: each must be an integer from 0 to 9223372036854775807)"},
      {R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})",
       R"(tensor 'a' has "shape" [2.0]: each must be an integer from 0 to)"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,1e1]}})",
       R"(tensor 'a' has "data_offsets" [0,10.0]: each must be an integer from 0 to 8)"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":"0-8"}})", R"(tensor 'a' has no "data_offsets" array)"},
      {R"({"a":{"dtype":32,"shape":[2],"data_offsets":[0,8]}})", R"(tensor 'a' has no "dtype" string)"},
      {R"({"a":[0,8]})", R"(tensor 'a' needs "dtype", "shape" and "data_offsets", got [0,8])"},
      {R"({"__metadata__":{"format":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
       R"(the safetensors "__metadata__" must map strings to strings, got {"format":1})"},
  };
  for (const auto& [header, message] : cases) {
    SCOPED_TRACE(header);
    write_safetensors_raw(path("lies.safetensors"), header, std::string(8, '\0'));
    EXPECT_THROW_WITH(read_state_dict(path("lies.safetensors")), "lies.safetensors: " + message);
  }
  write_bytes(path("long.safetensors"), std::string("\x00\x00\x00\x01\x00\x00\x00\x00{}", 10));
  EXPECT_THROW_WITH(read_state_dict(path("long.safetensors")),
                    "long.safetensors: safetensors header of 16777216 bytes, but the file has 10 bytes");
}

// ---------------------------------------------------------------------------------------- torch.save pickles

// Pickle pieces as CPython writes them with protocol 2.
std::string unicode(const std::string& text) {  // BINUNICODE
  std::string length(4, '\0');
  for (size_t i = 0; i < 4; ++i) {
    length[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  }
  return "X" + length + text;
}
std::string small_int(int value) {  // BININT1
  return std::string("K") + static_cast<char>(value);
}
std::string global(const std::string& module, const std::string& name) { return "c" + module + "\n" + name + "\n"; }
std::string int_tuple(const std::vector<int>& values) {
  std::string text = "(";
  for (const auto value : values) {
    text += small_int(value);
  }
  return text + "t";
}

// One tensor `a` of a torch.save state_dict, as _rebuild_tensor_v2 of storage `key`.
struct TensorInPickle {
  std::string storage_type = "FloatStorage";
  std::string key = "0";
  int numel = 4;
  int offset = 0;
  std::vector<int> size = {4}, stride = {1};
};

// The data.pkl of torch.save({"a": tensor}) of a state_dict: an OrderedDict with `_metadata`.
std::string state_dict_pickle(const TensorInPickle& tensor) {
  const auto ordered_dict = global("collections", "OrderedDict") + ")R";
  return "\x80\x02" + ordered_dict + "(" + unicode("a") + global("torch._utils", "_rebuild_tensor_v2") + "((" +
         unicode("storage") + global("torch", tensor.storage_type) + unicode(tensor.key) + unicode("cpu") +
         small_int(tensor.numel) + "tQ" + small_int(tensor.offset) + int_tuple(tensor.size) + int_tuple(tensor.stride) +
         "\x89" + ordered_dict + "tRu" + "}" + unicode("_metadata") + "}s" + "b.";
}

// A torch.save zip archive of the given records (name → bytes).
void write_archive(const std::string& path, const std::vector<std::pair<std::string, std::string>>& records) {
  caffe2::serialize::PyTorchStreamWriter writer(path);
  for (const auto& [name, bytes] : records) {
    writer.writeRecord(name, bytes.data(), bytes.size());
  }
  writer.writeEndOfFile();
}

const float kStorage[] = {1.0f, 2.0f, 3.0f, 4.0f};
const std::string kStorageBytes(reinterpret_cast<const char*>(kStorage), sizeof kStorage);

TEST_F(WeightFilesTest, TorchSavePickleOfViews) {
  TensorInPickle every_other;
  every_other.offset = 1;
  every_other.size = {2};
  every_other.stride = {2};
  write_archive(path("views.pt"), {{"data.pkl", state_dict_pickle(every_other)}, {"data/0", kStorageBytes}});
  const auto tensors = read_state_dict(path("views.pt"));
  EXPECT_EQ(tensors.keys(), std::vector<std::string>({"a"}));
  EXPECT_TRUE(torch::equal(tensors["a"], torch::tensor({2.0f, 4.0f})));
}

TEST_F(WeightFilesTest, TorchSavePicklesThatLieAreRefused) {
  const auto pickle = state_dict_pickle({});
  TensorInPickle too_long, too_far, missing, wrong_type;
  too_long.size = {5};
  too_far.offset = 3;
  too_far.size = {2};
  missing.key = "7";
  wrong_type.storage_type = "DoubleStorage";
  const std::pair<std::string, std::string> cases[] = {
      {state_dict_pickle(too_long),
       "data.pkl: a tensor of size [5], stride [1] and offset 0 reaches beyond its storage of 4"},
      {state_dict_pickle(too_far),
       "data.pkl: a tensor of size [2], stride [1] and offset 3 reaches beyond its storage of 4"},
      {state_dict_pickle(missing), "storage '7' is missing (no record data/7)"},
      {state_dict_pickle(wrong_type), "storage '0' has 16 bytes, but 4 elements of Double need 4 x 8"},
      {pickle.substr(0, pickle.size() - 1), "data.pkl: the pickle ends without STOP (truncated?)"},
      {pickle + "N", "data.pkl: 1 bytes follow STOP"},
      {"\x80\x02" + global("os", "system") + unicode("ls") + "\x85R.",
       "data.pkl: unsupported global 'os.system': a state_dict holds only tensors (collections.OrderedDict, "
       "torch._utils._rebuild_tensor_v2, torch.<dtype>Storage); save model.state_dict(), not the model (GLOBAL at "
       "byte 2)"},
      {"\x80\x04\x95", "data.pkl: pickle protocol 4 is not read here; torch.save writes protocol 2"},
      {"\x80\x02\x8c",
       "data.pkl: unsupported pickle opcode 0x8c; a torch.save state_dict (pickle protocol 2) does "
       "not use it (SHORT_BINUNICODE at byte 2)"},
      {"\x80\x02" + small_int(1) + ".", "holds an int, not a state_dict (a dict of tensors)"},
      {"\x80\x02}" + unicode("a") + small_int(1) + "s.", "'a' is an int, not a tensor"},
      {"\x80\x02(t(" + std::string(200, '(') + "}.", "data.pkl: objects are left on the stack at STOP"},
      {"\x80\x02" + std::string(200, ']') + std::string(199, 'a') + ".", "data.pkl: objects nested more than 100 deep"},
      {"\x80\x02h\x05.", "data.pkl: memo entry 5 was never stored (BINGET at byte 2)"},
      {"\x80\x02s.", "data.pkl: the stack is empty (SETITEM at byte 2)"},
  };
  for (const auto& [bytes, message] : cases) {
    SCOPED_TRACE(message);
    write_archive(path("lies.pt"), {{"data.pkl", bytes}, {"data/0", kStorageBytes}});
    EXPECT_THROW_WITH(read_state_dict(path("lies.pt")), "lies.pt: " + message);
  }
}

TEST_F(WeightFilesTest, OtherFilesAreNamedForWhatTheyAre) {
  write_archive(path("other.pt"), {{"notes.txt", "hello"}});
  EXPECT_THROW_WITH(read_state_dict(path("other.pt")), "other.pt: a zip archive without data.pkl");
  // torch.save(..., _use_new_zipfile_serialization=False) starts with a pickled magic number.
  write_bytes(path("legacy.pt"),
              "\x80\x02\x8a\x0a"
              "l\xfc\x9c"
              "F\xf9 j\xa8"
              "P\x19.");
  EXPECT_THROW_WITH(read_state_dict(path("legacy.pt")), "legacy.pt: a pickle without a zip archive: the legacy");
}

// ------------------------------------------------------------------------------ truncated and corrupted files

// The message of the c10::Error that loading `path` into `module` throws, or "" when it loads.
std::string load_error(ScaledDotProductAttention& module, const std::string& path) {
  try {
    load_state_dict(module, path);
    return "";
  } catch (const c10::Error& error) {
    return error.what_without_backtrace();
  }
}

TEST_F(WeightFilesTest, EveryTruncationIsAnErrorNamingTheFile) {
  ScaledDotProductAttention sdpa(ScaledDotProductAttentionOptions(6, 4));
  for (const auto* name : {"sdpa.pt", "sdpa.safetensors"}) {
    const auto bytes = read_bytes(state_dict_file(name));
    ASSERT_GT(bytes.size(), 500u);
    const auto cut = path(std::string("cut_") + name);
    for (size_t size = 0; size < bytes.size(); ++size) {
      write_bytes(cut, bytes.substr(0, size));
      const auto error = load_error(sdpa, cut);
      EXPECT_NE(error.find(cut), std::string::npos) << name << " cut to " << size << " bytes: " << error;
    }
  }
}

// Flips each byte of `bytes` in [begin, end) in turn and expects loading the result into `module` to work or to
// throw an error naming the file.
void expect_every_corrupted_byte_loads_or_is_named(ScaledDotProductAttention& module, const std::string& bytes,
                                                   size_t begin, size_t end, const std::string& corrupt) {
  for (size_t i = begin; i < end; ++i) {
    auto changed = bytes;
    changed[i] = static_cast<char>(changed[i] ^ 0xff);
    write_bytes(corrupt, changed);
    const auto error = load_error(module, corrupt);
    EXPECT_TRUE(error.empty() || error.find(corrupt) != std::string::npos) << "byte " << i << ": " << error;
  }
}

TEST_F(WeightFilesTest, EveryCorruptedByteGivesAValueOrAnErrorNamingTheFile) {
  ScaledDotProductAttention sdpa(ScaledDotProductAttentionOptions(6, 4));
  const auto safetensors = read_bytes(state_dict_file("sdpa.safetensors"));
  expect_every_corrupted_byte_loads_or_is_named(sdpa, safetensors, 0, safetensors.size(), path("corrupt.safetensors"));

  // Of the zip archive, the records read after opening it: data.pkl and the storages. The zip structure is
  // LibTorch's to check (the truncations above reach it); corrupting its directory or version record makes
  // PyTorchStreamReader's constructor throw after it set up its zip state, which LibTorch 1.13 then leaks
  // (LeakSanitizer reports it in the asan preset).
  const auto archive = read_bytes(state_dict_file("sdpa.pt"));
  caffe2::serialize::PyTorchStreamReader reader(state_dict_file("sdpa.pt"));
  for (const auto& name : reader.getAllRecords()) {
    if (name == "data.pkl" || name.rfind("data/", 0) == 0) {
      SCOPED_TRACE(name);
      const auto offset = reader.getRecordOffset(name);
      const auto size = std::get<1>(reader.getRecord(name));
      expect_every_corrupted_byte_loads_or_is_named(sdpa, archive, offset, offset + size, path("corrupt.pt"));
    }
  }
}

}  // namespace
}  // namespace attention
