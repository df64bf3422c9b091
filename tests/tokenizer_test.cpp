// attention::load_tokenizer on the tiny tokenizers of tests/data/tokenizers (made by make_tokenizers.py): the
// expected ids are worked out by hand in the comments. Byte tokens have GPT-2's ids: a printable ASCII character
// c has the id c - 33 ('!' 0, 'H' 39, 'a' 64, 'e' 68, 't' 83), the space "Ġ" 220, the newline "Ċ" 198; a merge
// of rank r makes the token 256 + r. BPE merges the pair of lowest rank first, the leftmost of equal ranks.
#include <attention/tokenizer.h>

#include "test_support.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>

namespace attention {
namespace {

using Ids = std::vector<int64_t>;

std::string data_dir(const std::string& name) { return std::string(ATTENTION_TEST_DATA_DIR) + "/tokenizers/" + name; }

const Tokenizer& gpt2() {
  static const Tokenizer tokenizer = load_tokenizer(data_dir("gpt2"));
  return tokenizer;
}

const Tokenizer& llama3() {
  static const Tokenizer tokenizer = load_tokenizer(data_dir("llama3"));
  return tokenizer;
}

// ------------------------------------------------------------------------------------------------ GPT-2 layout
// Merges (merges.txt, rank: result = id): 0 Ġt, 1 he, 2 Ġthe, 3 ll, 4 or, 5 He, 6 Hell, 7 Hello, 8 Ġw, 9 Ġwor,
// 10 Ġworl, 11 Ġworld, 12 's, 13 Ġc, 14 at, 15 Ġcat, 16 12, 17 ĠĠ, 18 Ã© (é), 19 ca, 20 caf, 21 cafÃ© (café),
// 22 ÐŁ (П), 23 ÑĢ (р), 24 æĹ, 25 æĹ¥ (日), 26 ðŁ, 27 ĊĊ, 28 ĠÐŁ (" П"); then <|endoftext|> 285.

TEST(TokenizerTest, Gpt2Words) {
  // "Hello": H e l l o; of the pairs only (l,l) 3 and (H,e) 5 merge: ll first, then He, Hell (6), Hello (7)
  // = 263. " world": Ġ w o r l d; (o,r) 4 before (Ġ,w) 8, then Ġwor 9, Ġworl 10, Ġworld 11 = 267.
  EXPECT_EQ(gpt2().encode("Hello world"), (Ids{263, 267}));
  // " the" -> (Ġ,t) 0, then he 1, then Ġthe 2 = 258. "the" alone: only he: t 83, he 257.
  EXPECT_EQ(gpt2().encode("the the"), (Ids{83, 257, 258}));
}

TEST(TokenizerTest, Gpt2Contractions) {
  // GPT-2's regex: "the", " cat", "'s". " cat": (Ġ,c) 13 < (a,t) 14 -> Ġc a t -> Ġc at -> Ġcat 15 = 271;
  // "'s" 12 = 268.
  EXPECT_EQ(gpt2().encode("the cat's"), (Ids{83, 257, 271, 268}));
  // The regex is case-sensitive: "'S" is no contraction, so "'" and "S" are pieces: C 34 A 32 T 51 ' 6 S 50.
  EXPECT_EQ(gpt2().encode("CAT'S"), (Ids{34, 32, 51, 6, 50}));
}

TEST(TokenizerTest, Gpt2DigitsAreOnePiece) {
  // " ?\p{N}+": "12345" is one piece; (1,2) 16 = 272, then 3 18, 4 19, 5 20.
  EXPECT_EQ(gpt2().encode("12345"), (Ids{272, 18, 19, 20}));
}

TEST(TokenizerTest, Gpt2SpacesAndNewlines) {
  // "a   b": "a", "  " (\s+(?!\S) leaves the last space to " b"), " b". ĠĠ 17 = 273; Ġ 220 b 65.
  EXPECT_EQ(gpt2().encode("a   b"), (Ids{64, 273, 220, 65}));
  // Three spaces alone: (Ġ,Ġ) has the same rank twice; the leftmost merges first: ĠĠ Ġ.
  EXPECT_EQ(gpt2().encode("   "), (Ids{273, 220}));
  // "hi", "\n\n" (\s+(?!\S): the space before "there" is not taken), " there": Ġt 0, he 1, Ġthe 2, r 81 e 68.
  EXPECT_EQ(gpt2().encode("hi\n\n there"), (Ids{71, 72, 283, 258, 81, 68}));
  // Trailing newlines: "a", "\n\n" = ĊĊ 27 = 283.
  EXPECT_EQ(gpt2().encode("a\n\n"), (Ids{64, 283}));
}

TEST(TokenizerTest, Gpt2NonAsciiLetters) {
  // "café" is one \p{L}+ piece: c a f Ã ©; Ã© 18 first, then ca 19, caf 20, cafÃ© 21 = 277.
  EXPECT_EQ(gpt2().encode("café"), (Ids{277}));
  // " Пр": one piece only if П is a letter to the regex (\p{L}); ÐŁ 22 and ÑĢ 23, then Ġ + ÐŁ 28 = 284.
  // An ASCII regex would cut " " from "Пр" and never make 284.
  EXPECT_EQ(gpt2().encode(" Пр"), (Ids{284, 279}));
  // "straße" is one piece with no merge: s 82 t 83 r 81 a 64, ß = C3 9F = Ã 127 Ł 253, e 68.
  EXPECT_EQ(gpt2().encode("straße"), (Ids{82, 83, 81, 64, 127, 253, 68}));
  // "日本": E6 97 A5 E6 9C AC = æ Ĺ ¥ æ ľ ¬; æĹ 24 then æĹ¥ 25 = 281; æ 162 ľ 250 ¬ 105.
  EXPECT_EQ(gpt2().encode("日本"), (Ids{281, 162, 250, 105}));
}

TEST(TokenizerTest, Gpt2Emoji) {
  // "hi", " 😀!" (" ?[^\s\p{L}\p{N}]+": a symbol and a punctuation mark). 😀 = F0 9F 98 80 = ð Ł ĺ Ģ;
  // ðŁ 26 = 282; ĺ 246 Ģ 222; ! 0.
  EXPECT_EQ(gpt2().encode("hi 😀!"), (Ids{71, 72, 220, 282, 246, 222, 0}));
}

TEST(TokenizerTest, Gpt2EndOfTextIsFoundInTheText) {
  // The special token is cut out before the regex, which would split "<|" from "endoftext".
  EXPECT_EQ(gpt2().encode("Hello<|endoftext|> world"), (Ids{263, 285, 267}));
  EXPECT_EQ(gpt2().eos_id(), std::optional<int64_t>(285));
  EXPECT_EQ(gpt2().bos_id(), std::optional<int64_t>(285));
  EXPECT_EQ(gpt2().vocab_size(), 286);
}

TEST(TokenizerTest, Gpt2TokensAndIds) {
  EXPECT_EQ(gpt2().token_to_id("Ġthe"), std::optional<int64_t>(258));
  EXPECT_EQ(gpt2().token_to_id("<|endoftext|>"), std::optional<int64_t>(285));
  EXPECT_EQ(gpt2().token_to_id(" the"), std::nullopt);  // the vocabulary writes the space as Ġ
  EXPECT_EQ(gpt2().id_to_token(277), "cafÃ©");
  EXPECT_EQ(gpt2().id_to_token(220), "Ġ");
  EXPECT_THROW_WITH(gpt2().id_to_token(286), "286 is no token");
}

// ------------------------------------------------------------------------------------------ Llama 3's form
// Merges (tokenizer.json, as [left, right] pairs): 0 Ġt, 1 he, 2 Ġthe, 3 's, 4 'S, 5 'r, 6 're, 7 12, 8 123,
// 9 45, 10 ĠĠ, 11 ĊĊ, 12 Ã©, 13 Ġc, 14 Ġca, 15 Ġcaf, 16 ĠcafÃ©, 17 We; "Ġdog" 274 (no merge makes it);
// added: <|begin_of_text|> 275 and <|end_of_text|> 276 (special), "<|end" 277.

TEST(TokenizerTest, Llama3ContractionsAnyCase) {
  // "We" (17 = 273), "'re" ((?i:'re): ' r 5, then 're 6 = 262).
  EXPECT_EQ(llama3().encode("We're"), (Ids{273, 262}));
  // (?i:'s) takes "'S" too, which merges ('S 4 = 260); GPT-2's pattern cut it in two. I 40 T 51.
  EXPECT_EQ(llama3().encode("IT'S"), (Ids{40, 51, 260}));
}

TEST(TokenizerTest, Llama3DigitsInGroupsOfThree) {
  // \p{N}{1,3}: "123", "45" -> 12 7 then 123 8 = 264; 45 9 = 265.
  EXPECT_EQ(llama3().encode("12345"), (Ids{264, 265}));
  // "123", "456" (45 then 6 21), "7" 22.
  EXPECT_EQ(llama3().encode("1234567"), (Ids{264, 265, 21, 22}));
}

TEST(TokenizerTest, Llama3SpacesAndNewlines) {
  // "a", "  " (\s+(?!\S)), " b" ([^\r\n\p{L}\p{N}]?\p{L}+): a 64, ĠĠ 10 = 266, Ġ 220 b 65.
  EXPECT_EQ(llama3().encode("a   b"), (Ids{64, 266, 220, 65}));
  // "Hi", "\n\n" (\s*[\r\n]+: ĊĊ 11 = 267), "there" (he 1: t 83 he 257 r 81 e 68).
  EXPECT_EQ(llama3().encode("Hi\n\nthere"), (Ids{39, 72, 267, 83, 257, 81, 68}));
  // Trailing spaces: "end", "  ".
  EXPECT_EQ(llama3().encode("end  "), (Ids{68, 77, 67, 266}));
}

TEST(TokenizerTest, Llama3NonAsciiAndEmoji) {
  // " café" is one piece; Ã© 12, then Ġc 13, Ġca 14, Ġcaf 15, ĠcafÃ© 16 = 272.
  EXPECT_EQ(llama3().encode(" café"), (Ids{272}));
  // "ok", " 😀😀" ( ?[^\s\p{L}\p{N}]+): no merges here, so Ġ and the bytes F0 9F 98 80 twice: ð 172 Ł 253 ĺ 246
  // Ģ 222.
  EXPECT_EQ(llama3().encode("ok 😀😀"), (Ids{78, 74, 220, 172, 253, 246, 222, 172, 253, 246, 222}));
}

TEST(TokenizerTest, Llama3IgnoreMergesTakesWholeTokens) {
  // ignore_merges: " dog" is the token Ġdog although no merge makes it; "dog" is not a token: d 67 o 78 g 70.
  EXPECT_EQ(llama3().encode(" dog"), (Ids{274}));
  EXPECT_EQ(llama3().encode("dog"), (Ids{67, 78, 70}));
}

TEST(TokenizerTest, Llama3AddedTokensInTheText) {
  EXPECT_EQ(llama3().encode("<|begin_of_text|>Hi<|end_of_text|>"), (Ids{275, 39, 72, 276}));
  // "a ", the token, " b": "a" 64, " " 220 (\s+), the token 276, " b" = Ġ 220 b 65.
  EXPECT_EQ(llama3().encode("a <|end_of_text|> b"), (Ids{64, 220, 276, 220, 65}));
  // The longest added token where two start: "<|end_of_text|>", not "<|end"; "<|end|>" has only "<|end", then
  // "|>" (| 91 > 29).
  EXPECT_EQ(llama3().encode("<|end|><|end_of_text|>"), (Ids{277, 91, 29, 276}));
  EXPECT_EQ(llama3().decode({275, 39, 72, 276}), "<|begin_of_text|>Hi<|end_of_text|>");
}

TEST(TokenizerTest, Llama3SpecialTokensOfTheConfig) {
  EXPECT_EQ(llama3().bos_id(), std::optional<int64_t>(275));  // a string in tokenizer_config.json
  EXPECT_EQ(llama3().eos_id(), std::optional<int64_t>(276));  // an object with "content"
  EXPECT_EQ(llama3().vocab_size(), 278);
  EXPECT_EQ(llama3().token_to_id("<|end"), std::optional<int64_t>(277));
}

// ------------------------------------------------------------------------------------------ both layouts

TEST(TokenizerTest, TokenizerJsonIsPreferred) {
  // both/tokenizer.json merges (b, c); its merges.txt (a, b). tokenizer.json also has add_prefix_space:
  // "abc" -> " abc" -> Ġ 220 a 64 bc 256.
  const auto tokenizer = load_tokenizer(data_dir("both"));
  EXPECT_EQ(tokenizer.encode("abc"), (Ids{220, 64, 256}));
  EXPECT_EQ(tokenizer.decode({220, 64, 256}), " abc");  // the space that add_prefix_space put there
  EXPECT_EQ(tokenizer.eos_id(), std::nullopt);
}

// ------------------------------------------------------------------------------------------ round trips

TEST(TokenizerTest, DecodeGivesTheTextBack) {
  const std::string mixed =
      "Hello <|endoftext|>world! It's 2024: café, straße, Привет, 日本語, 😀👍🏽 \t\n\n  x  \r\n"
      "\xC2\xA0nbsp \xE2\x80\x8Bzero-width \xF0\x9F\x87\xAB\xF0\x9F\x87\xB7 CAT'S 1234567 <|end <|begin_of_text|>";
  for (const auto* tokenizer : {&gpt2(), &llama3()}) {
    EXPECT_EQ(tokenizer->decode(tokenizer->encode(mixed)), mixed);
  }
  // Every byte of every 1- to 4-byte character range, as the first and last character.
  for (const std::string character : {"\x01", "\x7F", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xEF\xBF\xBF",
                                      "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF"}) {
    const auto text = character + " a" + character;
    EXPECT_EQ(gpt2().decode(gpt2().encode(text)), text);
    EXPECT_EQ(llama3().decode(llama3().encode(text)), text);
  }
  EXPECT_EQ(gpt2().encode(""), Ids{});
  EXPECT_EQ(gpt2().decode({}), "");
}

TEST(TokenizerTest, DecodeOfPartOfACharacterGivesItsBytes) {
  // 😀 encodes to ðŁ ĺ Ģ; its first token alone is the bytes F0 9F, for a stream to join.
  EXPECT_EQ(gpt2().decode({282}), "\xF0\x9F");
}

TEST(TokenizerTest, ALongMixedTextRoundTrips) {
  std::string text;
  while (text.size() < 200'000) {
    text += "The cat's café, 12345 Привет 日本 😀 and  spaces\n\n";
  }
  EXPECT_EQ(llama3().decode(llama3().encode(text)), text);
}

// ------------------------------------------------------------------------------------------ errors

TEST(TokenizerTest, InvalidUtf8IsRefusedWithItsOffset) {
  EXPECT_THROW_WITH(gpt2().encode("ab\xFF"), "byte 0xff at offset 2");
  EXPECT_THROW_WITH(gpt2().encode("ab\xC3("), "byte 0xc3 at offset 2");           // a lead byte alone
  EXPECT_THROW_WITH(gpt2().encode("x\xF0\x9F\x98"), "byte 0xf0 at offset 1");     // cut short at the end
  EXPECT_THROW_WITH(gpt2().encode("\xC0\xAF"), "byte 0xc0 at offset 0");          // overlong '/'
  EXPECT_THROW_WITH(gpt2().encode("abc\xED\xA0\x80"), "byte 0xed at offset 3");   // a surrogate
  EXPECT_THROW_WITH(gpt2().encode("\xF4\x90\x80\x80"), "byte 0xf4 at offset 0");  // past U+10FFFF
  EXPECT_THROW_WITH(gpt2().encode("caf\xC3\xA9\x80"), "byte 0x80 at offset 5");   // a stray continuation
}

TEST(TokenizerTest, UnknownIdsAreRefused) {
  EXPECT_THROW_WITH(gpt2().decode({263, 286}), "ids[1] = 286 is no token");
  EXPECT_THROW_WITH(gpt2().decode({-1}), "ids[0] = -1 is no token");
}

using TokenizerFilesTest = testing::ScratchFolderTest;

std::string read_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

TEST_F(TokenizerFilesTest, MissingFilesAreNamed) {
  EXPECT_THROW_WITH(load_tokenizer(path("none")), "none is not a folder");
  EXPECT_THROW_WITH(load_tokenizer(dir_.string()), "has no tokenizer.json and no vocab.json and merges.txt");
  write_text(path("vocab.json"), read_text(data_dir("gpt2") + "/vocab.json"));
  EXPECT_THROW_WITH(load_tokenizer(dir_.string()), "has vocab.json but no merges.txt");
}

TEST_F(TokenizerFilesTest, Gpt2FileErrorsAreNamed) {
  write_text(path("vocab.json"), read_text(data_dir("gpt2") + "/vocab.json"));
  write_text(path("merges.txt"), "#version: 0.2\nĠ t\nĠt zz\n");
  EXPECT_THROW_WITH(load_tokenizer(dir_.string()),
                    "merges.txt line 3: the merge \"Ġt zz\": its right part \"zz\" is not in the vocabulary");
  write_text(path("merges.txt"), "Ġ t\nt h e\n");
  EXPECT_THROW_WITH(load_tokenizer(dir_.string()), "merges.txt line 2: the merge \"t h e\" is not two tokens");
  write_text(path("merges.txt"), "");
  write_text(path("vocab.json"), "{\"a\": 0,\n \"b\" 1}");
  EXPECT_THROW_WITH(load_tokenizer(dir_.string()), "vocab.json: not JSON: ");
  EXPECT_THROW_WITH(load_tokenizer(dir_.string()), " at byte 14");
  write_text(path("vocab.json"), "{\"a\": 0}");
  EXPECT_THROW_WITH(load_tokenizer(dir_.string()), "vocab.json: the byte 0x0 has no token (\"Ā\")");
}

// tokenizer.json of llama3/ with the value at JSON pointer `where` replaced by the JSON text `value` (none: as
// it is), written into `dir`.
void write_changed_llama3(const std::string& dir, const std::string& where = "", const std::string& value = "") {
  auto tokenizer = nlohmann::json::parse(read_text(data_dir("llama3") + "/tokenizer.json"));
  if (!where.empty()) {
    tokenizer[nlohmann::json::json_pointer(where)] = nlohmann::json::parse(value);
  }
  write_text(dir + "/tokenizer.json", tokenizer.dump());
}

TEST_F(TokenizerFilesTest, UnimplementedSettingsAreNamed) {
  struct Case {
    const char* where;
    const char* value;
    const char* message;
  };
  const Case cases[] = {
      {"/normalizer", R"({"type": "NFKC"})", "normalizer \"NFKC\" is not implemented (only null and NFC)"},
      {"/model/type", R"("WordPiece")", "model.type \"WordPiece\" is not implemented"},
      {"/model/byte_fallback", "true", "model.byte_fallback true is not implemented"},
      {"/model/dropout", "0.1", "model.dropout 0.1 is not implemented"},
      {"/pre_tokenizer", R"({"type": "Whitespace"})", "pre_tokenizer \"Whitespace\" is not implemented"},
      {"/pre_tokenizer/pretokenizers/0/type", R"("Metaspace")",
       "pre_tokenizer.pretokenizers[0] \"Metaspace\" is not implemented"},
      {"/pre_tokenizer/pretokenizers/0/behavior", R"("Sideways")",
       "pre_tokenizer.pretokenizers[0].behavior \"Sideways\" is none of"},
      {"/pre_tokenizer/pretokenizers/0/pattern", R"({"Regex": "(unclosed"})",
       "pre_tokenizer.pretokenizers[0]: the pattern (unclosed does not compile"},
      {"/decoder", R"({"type": "WordPiece"})", "decoder \"WordPiece\" is not implemented"},
      {"/added_tokens/1/lstrip", "true", "added_tokens[1] (\"<|end_of_text|>\") has lstrip true, which is not"},
      {"/model/merges/2", R"(["Ġt", "hex"])",
       "tokenizer.json: model.merges[2]: the merge \"Ġt hex\": its right part \"hex\" is not in the vocabulary"},
      {"/model/merges/0", R"("Ġ t h")", "model.merges[0]: the merge \"Ġ t h\" is not two"},
      {"/added_tokens/0/id", "256", "the id 256 has two tokens, \"Ġt\" and \"<|begin_of_text|>\""},
  };
  for (const auto& [where, value, message] : cases) {
    write_changed_llama3(dir_.string(), where, value);
    EXPECT_THROW_WITH(load_tokenizer(dir_.string()), message);
  }
}

TEST_F(TokenizerFilesTest, DigitsSplitsNumbersAsSmolLM2Does) {
  // SmolLM2's pre-tokenizer: Digits(individual_digits), then ByteLevel with its regular expression.
  write_changed_llama3(dir_.string(), "/pre_tokenizer",
                       R"({"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true},
                           {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}]})");
  const auto individual = load_tokenizer(dir_.string());
  const auto id = [&](const char* token) { return *individual.token_to_id(token); };
  // Every digit its own piece, so no merge joins them; the letters are GPT-2's regex's pieces as before.
  EXPECT_EQ(individual.encode("x2024"), (std::vector<int64_t>{id("x"), id("2"), id("0"), id("2"), id("4")}));
  EXPECT_EQ(individual.decode(individual.encode("in 2024, 12 cats")), "in 2024, 12 cats");
  write_changed_llama3(dir_.string(), "/pre_tokenizer",
                       R"({"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": false},
                           {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]})");
  const auto runs = load_tokenizer(dir_.string());
  // Runs of digits together: "ab12" is the pieces "ab" and "12", each encoded on its own.
  const auto ab = runs.encode("ab"), twelve = runs.encode("12");
  auto expected = ab;
  expected.insert(expected.end(), twelve.begin(), twelve.end());
  EXPECT_EQ(runs.encode("ab12"), expected);
}

TEST_F(TokenizerFilesTest, NfcNormalizerComposesTheTextBetweenAddedTokensAsQwenDoes) {
  const auto plain = load_tokenizer(data_dir("llama3"));
  write_changed_llama3(dir_.string(), "/normalizer", R"({"type": "NFC"})");
  const auto nfc = load_tokenizer(dir_.string());
  // " cafe" + U+0301 (combining acute, bytes CC 81) composes to " café" (U+00E9, bytes C3 A9): the merges make that
  // one token, "ĠcafÃ©" in GPT-2's byte alphabet. Without the normalizer the accent stays a token of its own.
  const std::string decomposed = " cafe\xcc\x81", composed = " caf\xc3\xa9";
  const std::vector<int64_t> cafe{*plain.token_to_id("Ġcaf\xc3\x83\xc2\xa9")};
  EXPECT_EQ(nfc.encode(decomposed), cafe);
  EXPECT_EQ(plain.encode(composed), cafe);
  EXPECT_NE(plain.encode(decomposed), cafe);
  EXPECT_EQ(nfc.decode(nfc.encode(decomposed)), composed);
  // Hangul: U+1100 U+1161 (two jamo) compose to U+AC00; the Angstrom sign U+212B is U+00C5 in NFC.
  const std::string jamo = "\xe1\x84\x80\xe1\x85\xa1", syllable = "\xea\xb0\x80";
  EXPECT_EQ(nfc.encode(jamo), plain.encode(syllable));
  EXPECT_EQ(plain.encode(syllable).size(), 3U);  // no merges: its three bytes
  EXPECT_EQ(plain.encode(jamo).size(), 6U);
  EXPECT_EQ(nfc.encode("\xe2\x84\xab"), plain.encode("\xc3\x85"));
  EXPECT_NE(plain.encode("\xe2\x84\xab"), plain.encode("\xc3\x85"));
  // Added tokens are found in the text as given, and the text after one is normalized on its own.
  const auto begin = *plain.token_to_id("<|begin_of_text|>");
  auto expected = std::vector<int64_t>{begin};
  const auto e_acute = plain.encode("\xc3\xa9");
  expected.insert(expected.end(), e_acute.begin(), e_acute.end());
  EXPECT_EQ(nfc.encode("<|begin_of_text|>e\xcc\x81"), expected);
  // Text already in NFC gives the same ids as without the normalizer.
  const std::string text = "Hello world's 123, caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\n\n";
  EXPECT_EQ(nfc.encode(text), plain.encode(text));
}

TEST_F(TokenizerFilesTest, ConfigTokensMustBeTokens) {
  write_changed_llama3(dir_.string());
  write_text(path("tokenizer_config.json"), "{\"eos_token\": \"</s>\"}");
  EXPECT_THROW_WITH(load_tokenizer(dir_.string()), "tokenizer_config.json: eos_token \"</s>\" is not a token");
  write_text(path("tokenizer_config.json"), "{\"bos_token\": 3}");
  EXPECT_THROW_WITH(load_tokenizer(dir_.string()), "tokenizer_config.json: bos_token must be a string");
}

}  // namespace
}  // namespace attention
