#include "models/tokenizer.h"

#include <unicode/normalizer2.h>
#include <unicode/regex.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <climits>
#include <map>
#include <mutex>
#include <queue>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"

namespace fasrl::models {
using nlohmann::json;

const std::vector<std::string>& gpt2_byte_alphabet() {
  static const std::vector<std::string> alphabet = [] {
    std::vector<int> bs;
    for (int b = '!'; b <= '~'; ++b) bs.push_back(b);
    for (int b = 0xA1; b <= 0xAC; ++b) bs.push_back(b);
    for (int b = 0xAE; b <= 0xFF; ++b) bs.push_back(b);
    std::vector<int> cs = bs;
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      if (std::find(bs.begin(), bs.end(), b) == bs.end()) {
        bs.push_back(b);
        cs.push_back(256 + n++);
      }
    }
    std::vector<std::string> out(256);
    for (size_t i = 0; i < bs.size(); ++i) {
      std::string s;
      icu::UnicodeString(static_cast<UChar32>(cs[i])).toUTF8String(s);
      out[static_cast<size_t>(bs[i])] = s;
    }
    return out;
  }();
  return alphabet;
}

std::vector<std::string> utf8_code_points(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

// ICU match-engine steps allowed per regex match (ICU: "on the order of
// milliseconds" each); the byte-level pre-tokenizers of real models need a few.
constexpr int32_t kRegexStepLimit = 2000;

struct BpeTokenizer::Impl {
  std::unordered_map<std::string, int64_t> vocab;
  std::vector<std::string> id_to_token;
  std::map<std::pair<std::string, std::string>, int> merge_rank;
  std::vector<std::pair<std::string, int64_t>> added;  // content -> id, longest first
  std::unique_ptr<icu::RegexPattern> pattern;
  bool nfc = false;
  bool ignore_merges = false;  // a word that is itself in the vocabulary is one token (Llama-3 style)
  std::string source;  // the tokenizer.json it came from, for errors
  const std::vector<std::string>& byte_map = gpt2_byte_alphabet();
  std::unordered_map<std::string, unsigned char> unicode_to_byte;
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache;

  // Applies merges lowest rank first (leftmost among equal ranks) until none
  // applies. A heap of adjacent pairs over a linked list: O(n log n) in the
  // word length (rescanning every pair after each merge was quadratic: a
  // 10k-character word took seconds).
  std::vector<std::string> merge(std::vector<std::string> parts) const {
    const int n = static_cast<int>(parts.size());
    std::vector<int> prev(static_cast<size_t>(n)), next(static_cast<size_t>(n)), version(static_cast<size_t>(n), 0);
    for (int i = 0; i < n; ++i) prev[static_cast<size_t>(i)] = i - 1, next[static_cast<size_t>(i)] = i + 1 < n ? i + 1 : -1;
    struct Pair {
      int rank, left, right, left_version, right_version;
      bool operator>(const Pair& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
    };
    std::priority_queue<Pair, std::vector<Pair>, std::greater<Pair>> heap;
    auto push = [&](int l, int r) {
      if (l < 0 || r < 0) return;
      auto it = merge_rank.find({parts[static_cast<size_t>(l)], parts[static_cast<size_t>(r)]});
      if (it != merge_rank.end()) heap.push({it->second, l, r, version[static_cast<size_t>(l)], version[static_cast<size_t>(r)]});
    };
    for (int i = 0; i + 1 < n; ++i) push(i, i + 1);
    while (!heap.empty()) {
      const Pair p = heap.top();
      heap.pop();
      const size_t l = static_cast<size_t>(p.left), r = static_cast<size_t>(p.right);
      // Stale: a side was merged away or changed since the pair was pushed.
      if (version[l] != p.left_version || version[r] != p.right_version || next[l] != p.right) continue;
      parts[l] += parts[r];
      ++version[l];
      version[r] = -1;  // gone
      next[l] = next[r];
      if (next[r] >= 0) prev[static_cast<size_t>(next[r])] = p.left;
      push(prev[l], p.left);
      push(p.left, next[l]);
    }
    std::vector<std::string> out;
    for (int i = 0; i >= 0 && i < n; i = next[static_cast<size_t>(i)]) out.push_back(std::move(parts[static_cast<size_t>(i)]));
    return out;
  }

  std::vector<int64_t> bpe(const std::string& piece) const {  // piece: byte-mapped UTF-8
    {
      std::lock_guard<std::mutex> lock(cache_mutex);
      auto it = cache.find(piece);
      if (it != cache.end()) return it->second;
    }
    std::vector<int64_t> ids;
    if (ignore_merges) {
      const auto whole = vocab.find(piece);
      if (whole != vocab.end()) return {whole->second};
    }
    for (const auto& p : merge(utf8_code_points(piece))) {
      auto it = vocab.find(p);
      if (it == vocab.end()) raise(ErrorKind::kInvalidArgument, "tokenizer: no vocabulary entry for '", p, "'");
      ids.push_back(it->second);
    }
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() < 200000) cache.emplace(piece, ids);
    return ids;
  }

  void encode_plain(const std::string& text, std::vector<int64_t>& out) const {
    if (text.empty()) return;
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeString u = icu::UnicodeString::fromUTF8(text);
    if (nfc) {
      const icu::Normalizer2* norm = icu::Normalizer2::getNFCInstance(status);
      u = norm->normalize(u, status);
    }
    std::vector<icu::UnicodeString> pieces;
    if (pattern) {
      std::unique_ptr<icu::RegexMatcher> m(pattern->matcher(u, status));
      // The pattern comes from the tokenizer file: bound each match so a
      // catastrophically backtracking one is an error, not an endless encode.
      m->setTimeLimit(kRegexStepLimit, status);
      int32_t last = 0;
      while (m->find(status)) {
        const int32_t s = m->start(status), e = m->end(status);
        if (s > last) pieces.push_back(u.tempSubStringBetween(last, s));  // gap (Isolated keeps it)
        if (e > s) pieces.push_back(u.tempSubStringBetween(s, e));
        last = e;
      }
      if (last < u.length()) pieces.push_back(u.tempSubStringBetween(last));
    } else {
      pieces.push_back(u);
    }
    if (status == U_REGEX_TIME_OUT)
      raise(ErrorKind::kInvalidArgument, source, ": the pre_tokenizer regex exceeded its time limit on a ", text.size(),
            "-byte text (catastrophic backtracking?)");
    if (U_FAILURE(status)) raise(ErrorKind::kInternal, "tokenizer: ICU failure ", u_errorName(status));
    for (const auto& p : pieces) {
      std::string bytes, mapped;
      p.toUTF8String(bytes);
      for (unsigned char c : bytes) mapped += byte_map[c];
      const auto ids = bpe(mapped);
      out.insert(out.end(), ids.begin(), ids.end());
    }
  }
};

BpeTokenizer::BpeTokenizer() : impl_(std::make_unique<Impl>()) {}
BpeTokenizer::~BpeTokenizer() = default;
BpeTokenizer::BpeTokenizer(BpeTokenizer&&) noexcept = default;
BpeTokenizer& BpeTokenizer::operator=(BpeTokenizer&&) noexcept = default;

BpeTokenizer BpeTokenizer::load(const std::string& path) { return from_json(read_file(path), path); }

namespace {

// Every tokenizer.json option fasrl does not implement must hold its no-op
// value: anything else would silently give other ids than the tokenizer's
// own library. Errors name the file and the key.
void check_supported_options(const json& j, const std::string& source) {
  auto refuse = [&](const std::string& key, const json& value, const std::string& supported) {
    raise(ErrorKind::kInvalidArgument, source, ": ", key, " = ", value.dump(), " is not supported by fasrl's tokenizer (",
          supported, ")");
  };
  auto expect = [&](const json& obj, const std::string& where, const char* key, const json& allowed) {
    if (!obj.contains(key) || obj[key].is_null() || obj[key] == allowed) return;
    refuse(where + "." + key, obj[key], "only " + allowed.dump());
  };
  const json& model = j.at("model");
  expect(model, "model", "dropout", nullptr);
  expect(model, "model", "unk_token", nullptr);
  expect(model, "model", "continuing_subword_prefix", "");
  expect(model, "model", "end_of_word_suffix", "");
  expect(model, "model", "fuse_unk", false);
  expect(model, "model", "byte_fallback", false);
  for (const char* key : {"truncation", "padding"})
    if (j.contains(key) && !j[key].is_null()) refuse(key, j[key], "only null: fasrl pads and truncates itself");
  auto check_pre = [&](const json& p, const std::string& where) {
    const std::string type = p.value("type", "");
    if (type == "Split") {
      expect(p, where, "behavior", "Isolated");
      expect(p, where, "invert", false);
    } else if (type == "ByteLevel") {
      expect(p, where, "add_prefix_space", false);
      expect(p, where, "use_regex", false);
    } else {
      refuse(where + ".type", p.value("type", json()), "Split, ByteLevel or a Sequence of them");
    }
  };
  if (j.contains("pre_tokenizer") && j["pre_tokenizer"].is_object()) {
    const json& pre = j["pre_tokenizer"];
    if (pre.value("type", "") == "Sequence") {
      int i = 0;
      for (const auto& p : pre.at("pretokenizers")) check_pre(p, "pre_tokenizer.pretokenizers[" + std::to_string(i++) + "]");
    } else {
      check_pre(pre, "pre_tokenizer");
    }
  }
  for (const char* key : {"decoder", "post_processor"})
    if (j.contains(key) && j[key].is_object()) {
      if (j[key].value("type", "") != "ByteLevel") refuse(std::string(key) + ".type", j[key].value("type", json()), "ByteLevel or null");
      expect(j[key], key, "add_prefix_space", false);
    }
  if (j.contains("added_tokens"))
    for (const auto& a : j["added_tokens"])
      for (const char* key : {"lstrip", "rstrip", "single_word"})
        if (a.contains(key) && a[key].is_boolean() && a[key].get<bool>())
          refuse("added_tokens['" + a.value("content", std::string()) + "']." + key, a[key], "only false");
}

}  // namespace

BpeTokenizer BpeTokenizer::from_json(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    raise(ErrorKind::kCorruption, source, ": not valid JSON (", e.what(), ")");
  }
  BpeTokenizer t;
  Impl& d = *t.impl_;
  d.source = source;
  for (size_t b = 0; b < 256; ++b) d.unicode_to_byte[d.byte_map[b]] = static_cast<unsigned char>(b);
  try {
    const json& model = j.at("model");
    if (model.value("type", "BPE") != "BPE")
      raise(ErrorKind::kInvalidArgument, source, ": model.type is '", model.value("type", ""),
            "', only BPE is supported");
    check_supported_options(j, source);
    d.ignore_merges = model.contains("ignore_merges") && model["ignore_merges"].is_boolean() && model["ignore_merges"].get<bool>();
    for (const auto& [tok, id] : model.at("vocab").items()) d.vocab[tok] = id.get<int64_t>();
    int rank = 0;
    for (const auto& m : model.at("merges")) {
      std::pair<std::string, std::string> pair;
      if (m.is_string()) {  // older "a b" form
        const std::string s = m.get<std::string>();
        const auto sp = s.find(' ');
        if (sp == std::string::npos) raise(ErrorKind::kCorruption, source, ": merge '", s, "' has no space");
        pair = {s.substr(0, sp), s.substr(sp + 1)};
      } else {
        pair = {m.at(0).get<std::string>(), m.at(1).get<std::string>()};
      }
      d.merge_rank.emplace(pair, rank++);
    }
    if (j.contains("added_tokens"))
      for (const auto& a : j["added_tokens"]) {
        d.added.emplace_back(a.at("content").get<std::string>(), a.at("id").get<int64_t>());
        d.vocab[a["content"].get<std::string>()] = a["id"].get<int64_t>();
      }
    std::sort(d.added.begin(), d.added.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    if (j.contains("normalizer") && j["normalizer"].is_object()) {
      const std::string type = j["normalizer"].value("type", "");
      if (type != "NFC")
        raise(ErrorKind::kInvalidArgument, source, ": normalizer '", type, "' is not supported (NFC only)");
      d.nfc = true;
    }
    // The Split regex of the pre-tokenizer (directly or inside a Sequence).
    std::vector<json> pres;
    if (j.contains("pre_tokenizer") && j["pre_tokenizer"].is_object()) {
      const json& pre = j["pre_tokenizer"];
      if (pre.value("type", "") == "Sequence")
        for (const auto& p : pre.at("pretokenizers")) pres.push_back(p);
      else
        pres.push_back(pre);
    }
    for (const auto& p : pres) {
      if (p.value("type", "") != "Split") continue;
      const std::string regex = p.at("pattern").at("Regex").get<std::string>();
      UErrorCode status = U_ZERO_ERROR;
      UParseError perr;
      d.pattern.reset(icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(regex), perr, status));
      if (U_FAILURE(status))
        raise(ErrorKind::kInvalidArgument, source, ": pre_tokenizer regex does not compile (", u_errorName(status),
              ")");
    }
  } catch (const json::exception& e) {
    raise(ErrorKind::kCorruption, source, ": ", e.what());
  }
  // Ids index the decode table: a negative or absurd id must be an error, not
  // an out-of-bounds write or a terabyte allocation; two tokens may not share one.
  constexpr int64_t kMaxTokenId = int64_t{1} << 24;
  int64_t max_id = -1;
  for (const auto& [tok, id] : d.vocab) {
    if (id < 0 || id >= kMaxTokenId)
      raise(ErrorKind::kCorruption, source, ": token '", tok, "' has id ", id, ", expected 0 <= id < ", kMaxTokenId);
    max_id = std::max(max_id, id);
  }
  d.id_to_token.assign(static_cast<size_t>(max_id + 1), std::string());
  std::vector<bool> taken(static_cast<size_t>(max_id + 1), false);
  for (const auto& [tok, id] : d.vocab) {
    if (taken[static_cast<size_t>(id)])
      raise(ErrorKind::kCorruption, source, ": tokens '", d.id_to_token[static_cast<size_t>(id)], "' and '", tok,
            "' share id ", id);
    taken[static_cast<size_t>(id)] = true;
    d.id_to_token[static_cast<size_t>(id)] = tok;
  }
  return t;
}

std::vector<int64_t> BpeTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> out;
  size_t pos = 0, plain_start = 0;
  while (pos < text.size()) {
    bool matched = false;
    for (const auto& [content, id] : impl_->added) {
      if (!content.empty() && text.compare(pos, content.size(), content) == 0) {
        impl_->encode_plain(text.substr(plain_start, pos - plain_start), out);
        out.push_back(id);
        pos += content.size();
        plain_start = pos;
        matched = true;
        break;
      }
    }
    if (!matched) ++pos;
  }
  impl_->encode_plain(text.substr(plain_start), out);
  return out;
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= impl_->id_to_token.size())
      raise(ErrorKind::kInvalidArgument, "tokenizer: id ", id, " outside the vocabulary");
    const std::string& tok = impl_->id_to_token[static_cast<size_t>(id)];
    bool is_added = false;
    for (const auto& a : impl_->added) is_added |= a.second == id;
    if (is_added) {
      out += tok;
      continue;
    }
    for (const auto& ch : utf8_code_points(tok)) {
      auto it = impl_->unicode_to_byte.find(ch);
      out += it == impl_->unicode_to_byte.end() ? ch : std::string(1, static_cast<char>(it->second));
    }
  }
  return out;
}

int64_t BpeTokenizer::vocab_size() const { return static_cast<int64_t>(impl_->id_to_token.size()); }

int64_t BpeTokenizer::token_id(const std::string& token) const {
  auto it = impl_->vocab.find(token);
  return it == impl_->vocab.end() ? -1 : it->second;
}

}  // namespace fasrl::models
