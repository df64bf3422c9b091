// AddedTokenFinder: a scan of the text, trying at each byte the added tokens that start with it.
#include "added_tokens.h"

#include <algorithm>

namespace attention::detail {

AddedTokenFinder::AddedTokenFinder(const std::vector<AddedToken>& tokens) {
  for (const auto& token : tokens) {
    by_first_byte_[static_cast<unsigned char>(token.content.front())].emplace_back(token.content, token.id);
  }
  for (auto& candidates : by_first_byte_) {
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  }
}

std::vector<AddedTokenFinder::Segment> AddedTokenFinder::split(std::string_view text) const {
  std::vector<Segment> segments;
  size_t plain = 0;  // where the text since the last added token starts
  for (size_t at = 0; at < text.size();) {
    const auto& candidates = by_first_byte_[static_cast<unsigned char>(text[at])];
    const auto found = std::find_if(candidates.begin(), candidates.end(), [&](const auto& candidate) {
      return text.compare(at, candidate.first.size(), candidate.first) == 0;
    });
    if (found == candidates.end()) {
      ++at;
      continue;
    }
    if (at > plain) {
      segments.push_back({text.substr(plain, at - plain), -1});
    }
    segments.push_back({text.substr(at, found->first.size()), found->second});
    at += found->first.size();
    plain = at;
  }
  if (plain < text.size()) {
    segments.push_back({text.substr(plain), -1});
  }
  return segments;
}

}  // namespace attention::detail
