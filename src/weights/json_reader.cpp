// parse_json: nlohmann-json's SAX parser feeding a handler that builds the value and refuses duplicate keys and
// deep nesting. nlohmann-json tells a SAX handler where it is only in parse_error(); the handler learns it from
// the iterator the parser reads the text through, one character at a time.
#include "json_reader.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <iterator>
#include <unordered_set>
#include <utility>
#include <vector>

namespace attention::detail {
namespace {

using Json = nlohmann::ordered_json;

// An input iterator over the text that counts in `read` the characters taken from it.
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* at, size_t* read) : at_(at), read_(read) {}

  reference operator*() const { return *at_; }
  CountingIterator& operator++() {
    ++at_;
    ++*read_;
    return *this;
  }
  CountingIterator operator++(int) {
    auto before = *this;
    ++*this;
    return before;
  }
  bool operator==(const CountingIterator& other) const { return at_ == other.at_; }
  bool operator!=(const CountingIterator& other) const { return at_ != other.at_; }

 private:
  const char* at_;
  size_t* read_;
};

// The opening quote of the string whose closing quote is at `close`: the nearest '"' before it after an even
// number of backslashes (a quote inside the string is escaped by an odd number).
size_t opening_quote(std::string_view text, size_t close) {
  size_t at = close;
  while (true) {
    at = text.rfind('"', at - 1);
    size_t backslashes = 0;
    while (backslashes < at && text[at - 1 - backslashes] == '\\') {
      ++backslashes;
    }
    if (backslashes % 2 == 0) {
      return at;
    }
  }
}

// nlohmann-json's message without its prefixes ("[json.exception.parse_error.101] ", "parse error at line 1,
// column 5: ") and without the token it had read ("; last read: '...'"), which may be long or not UTF-8.
std::string description(const std::string& message, const std::string& last_token) {
  auto text = message.substr(message.find("] ") + 2);
  if (text.rfind("parse error", 0) == 0) {
    text.erase(0, text.find(": ") + 2);
  }
  const auto last_read = "; last read: '" + last_token + "'";
  const auto at = text.find(last_read);
  return at == std::string::npos ? text : text.erase(at, last_read.size());
}

// The SAX handler: builds the value, throws c10::Error at the first error. The parser reads nothing ahead of a
// bracket or the closing quote of a key, so when start_object(), start_array() or key() is called, the last
// character read is that bracket or quote.
class Builder {
 public:
  Builder(std::string_view text, const size_t& read, const std::string& where, uint64_t first_byte)
      : text_(text), read_(read), where_(where), first_byte_(first_byte) {}

  [[noreturn]] void fail(const std::string& problem, size_t at) const {
    C10_THROW_ERROR(Error, c10::str(where_, ": ", problem, " at byte ", first_byte_ + at));
  }

  bool null() { return add(nullptr); }
  bool boolean(bool value) { return add(value); }
  bool number_integer(Json::number_integer_t value) { return add(value); }
  bool number_unsigned(Json::number_unsigned_t value) { return add(value); }
  bool number_float(Json::number_float_t value, const Json::string_t& /*as_written*/) { return add(value); }
  bool string(Json::string_t& value) { return add(std::move(value)); }
  bool binary(Json::binary_t& /*value*/) { return false; }  // binary formats only, never JSON text
  bool start_object(size_t /*size*/) { return open(Json::object()); }
  bool start_array(size_t /*size*/) { return open(Json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(Json::string_t& key) {
    if (!open_.back().keys.insert(key).second) {
      fail("duplicate key " + Json(key).dump() + " (a key may appear once in an object)",
           opening_quote(text_, read_ - 1));
    }
    key_ = std::move(key);
    return true;
  }

  bool parse_error(size_t position, const std::string& last_token, const Json::exception& error) {
    fail(description(error.what(), last_token), position - 1);  // position counts from 1
  }

  Json take() { return std::move(root_); }

 private:
  struct Open {
    Json* value;
    std::unordered_set<std::string> keys;  // an object's, so far
  };

  // `value` where the parser is: the root, the next item of an array or the member of the last key.
  Json* place(Json value) {
    if (open_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    auto& parent = *open_.back().value;
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    // Appended to the members as they are: ordered_map's own insertion looks for the key among them all, which
    // is quadratic in the number of keys; key() has checked it.
    auto& members = static_cast<Json::object_t::Container&>(parent.get_ref<Json::object_t&>());
    members.emplace_back(std::move(key_), std::move(value));
    return &members.back().second;
  }

  bool add(Json value) {
    place(std::move(value));
    return true;
  }

  bool open(Json container) {
    if (open_.size() == kMaxJsonDepth) {
      fail(c10::str("arrays and objects nested more than ", kMaxJsonDepth, " deep"), read_ - 1);
    }
    open_.push_back({place(std::move(container)), {}});
    return true;
  }

  bool close() {
    open_.pop_back();
    return true;
  }

  std::string_view text_;
  const size_t& read_;  // the characters the parser has taken from the text
  const std::string& where_;
  uint64_t first_byte_;
  Json root_;
  std::vector<Open> open_;  // the arrays and objects being read, outermost first
  std::string key_;         // the key of the next member
};

}  // namespace

Json parse_json(std::string_view text, const std::string& where, uint64_t first_byte) {
  size_t read = 0;
  Builder builder(text, read, where, first_byte);
  // Said here: nlohmann-json's own words for it differ between versions (3.11.2 and 3.11.3).
  if (text.empty()) {
    builder.fail("no JSON value, the text is empty", 0);
  }
  if (text.substr(0, 3) == "\xef\xbb\xbf") {
    builder.fail("a UTF-8 byte order mark before the JSON value", 0);
  }
  const CountingIterator begin(text.data(), &read), end(text.data() + text.size(), &read);
  Json::sax_parse(begin, end, &builder);  // for JSON text, every callback returns true or throws
  // The parser stops at a NUL byte after the value as if the text ended there; the NUL is then the last byte read.
  if (read > 0 && text[read - 1] == '\0') {
    builder.fail("a NUL byte after the JSON value", read - 1);
  }
  return builder.take();
}

}  // namespace attention::detail
