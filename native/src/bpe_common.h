// Shared pieces of the native tokenizer (bpe.cc: encoding, bpe_train.cc: training):
// Unicode character classes, hand-written scanners for the gpt2 and gpt4 split patterns
// (the regexes in src/tokenizer/pretokenize.ts, matched exactly; tests compare them), a
// byte-string hash map, and safe cut points for splitting text across threads.
#pragma once
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace llmf {
namespace bpe {

enum : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 3 };
enum Pattern : int { kGpt2 = 0, kGpt4 = 1 };

// Class of every code point (0x110000 entries), from (start, end, class) triples the JS side
// computes with the engine's own Unicode tables, so the native and RegExp paths agree.
// Built on first use; later calls return the same table.
const uint8_t* unicode_classes(const Napi::CallbackInfo& info, int arg_index);

// Runs f(tid) on n threads (the caller is tid 0) and joins them. The tokenizer starts its own
// short-lived threads rather than using the kernels' persistent pool: it is called from several
// JS threads at once (data-prep workers each load the addon), which that pool does not support,
// and a batch is long enough (>= 64 KB per thread) that starting a thread costs nothing measurable.
template <class F>
void run_threads(int n, F&& f) {
  if (n <= 1) {
    f(0);
    return;
  }
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(n - 1));
  for (int t = 1; t < n; t++) threads.emplace_back([&f, t] { f(t); });
  f(0);
  for (auto& th : threads) th.join();
}

// Decodes one code point. Input is valid UTF-8 (V8 hands out nothing else); a truncated
// sequence at the end is read as one byte of class "other".
inline uint32_t decode_utf8(const uint8_t* p, const uint8_t* end, int* len) {
  uint8_t b = p[0];
  if (b < 0x80) {
    *len = 1;
    return b;
  }
  ptrdiff_t avail = end - p;
  if (b < 0xe0) {
    if (avail < 2) return *len = 1, 0xfffd;
    *len = 2;
    return ((b & 0x1fu) << 6) | (p[1] & 0x3fu);
  }
  if (b < 0xf0) {
    if (avail < 3) return *len = 1, 0xfffd;
    *len = 3;
    return ((b & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);
  }
  if (avail < 4) return *len = 1, 0xfffd;
  *len = 4;
  return ((b & 0x07u) << 18) | ((p[1] & 0x3fu) << 12) | ((p[2] & 0x3fu) << 6) | (p[3] & 0x3fu);
}

// The split-pattern scanner: next_piece(i) returns the end of the piece starting at i.
class Scanner {
 public:
  Scanner(const uint8_t* cls, Pattern pattern, const uint8_t* s, size_t n)
      : cls_(cls), pattern_(pattern), s_(s), n_(n) {}

  size_t next_piece(size_t i) const { return pattern_ == kGpt2 ? next_gpt2(i) : next_gpt4(i); }

 private:
  const uint8_t* cls_;
  Pattern pattern_;
  const uint8_t* s_;
  size_t n_;

  uint8_t class_at(size_t i, int* len, uint32_t* cp) const {
    uint8_t b = s_[i];
    if (b < 0x80) {
      *len = 1;
      *cp = b;
      return cls_[b];
    }
    uint32_t c = decode_utf8(s_ + i, s_ + n_, len);
    *cp = c;
    return c < 0x110000 ? cls_[c] : kOther;
  }

  // End of the run of code points of class `k` starting at i.
  size_t run(size_t i, uint8_t k) const {
    while (i < n_) {
      uint8_t b = s_[i];
      if (b < 0x80) {
        if (cls_[b] != k) break;
        i++;
        continue;
      }
      int len;
      uint32_t cp;
      if (class_at(i, &len, &cp) != k) break;
      i += len;
    }
    return i;
  }

  // Whitespace run from i; sets *last to the start of its last code point.
  size_t space_run(size_t i, size_t* last) const {
    *last = i;
    while (i < n_) {
      int len;
      uint32_t cp;
      if (class_at(i, &len, &cp) != kSpace) break;
      *last = i;
      i += len;
    }
    return i;
  }

  static bool lower_is(uint8_t b, char c) { return (b | 0x20) == static_cast<uint8_t>(c); }

  // 's 't 're 've 'm 'll 'd after the apostrophe at i; case-insensitive (with ſ for s) for gpt4.
  size_t contraction(size_t i, bool ci) const {
    if (i + 1 >= n_) return 0;
    uint8_t a = s_[i + 1];
    uint8_t b = i + 2 < n_ ? s_[i + 2] : 0;
    if (!ci) {
      if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
      return 0;
    }
    if (lower_is(a, 's') || lower_is(a, 't') || lower_is(a, 'm') || lower_is(a, 'd')) return 2;
    if (a == 0xc5 && b == 0xbf) return 3;  // U+017F LATIN SMALL LETTER LONG S folds to 's'
    if ((lower_is(a, 'r') && lower_is(b, 'e')) || (lower_is(a, 'v') && lower_is(b, 'e')) ||
        (lower_is(a, 'l') && lower_is(b, 'l')))
      return 3;
    return 0;
  }

  // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  size_t next_gpt2(size_t i) const {
    uint8_t b = s_[i];
    if (b == '\'') {
      size_t c = contraction(i, false);
      if (c) return i + c;
    }
    int len;
    uint32_t cp;
    uint8_t k = class_at(i, &len, &cp);
    if (b == ' ' && i + 1 < n_) {
      int len2;
      uint32_t cp2;
      uint8_t k2 = class_at(i + 1, &len2, &cp2);
      if (k2 != kSpace) return run(i + 1, k2);
    }
    if (k != kSpace) return run(i, k);
    size_t last;
    size_t j = space_run(i, &last);
    if (j == n_) return j;
    return last > i ? last : j;
  }

  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*
  // |\s*[\r\n]+|\s+(?!\S)|\s+
  size_t next_gpt4(size_t i) const {
    uint8_t b = s_[i];
    if (b == '\'') {
      size_t c = contraction(i, true);
      if (c) return i + c;
    }
    int len;
    uint32_t cp;
    uint8_t k = class_at(i, &len, &cp);
    if (k == kLetter) return run(i, kLetter);
    if (k != kNumber && b != '\r' && b != '\n' && i + len < n_) {
      int len2;
      uint32_t cp2;
      if (class_at(i + len, &len2, &cp2) == kLetter) return run(i + len, kLetter);
    }
    if (k == kNumber) {
      size_t j = i + len;
      for (int d = 1; d < 3 && j < n_; d++) {
        int l2;
        uint32_t c2;
        if (class_at(j, &l2, &c2) != kNumber) break;
        j += l2;
      }
      return j;
    }
    size_t others_from = n_;
    if (k == kOther) others_from = i;
    else if (b == ' ' && i + 1 < n_) {
      int len2;
      uint32_t cp2;
      if (class_at(i + 1, &len2, &cp2) == kOther) others_from = i + 1;
    }
    if (others_from != n_) {
      size_t j = run(others_from, kOther);
      while (j < n_ && (s_[j] == '\r' || s_[j] == '\n')) j++;
      return j;
    }
    // Whitespace.
    size_t last;
    size_t j = space_run(i, &last);
    for (size_t q = j; q > i; q--) {
      uint8_t c = s_[q - 1];
      if (c == '\r' || c == '\n') return q;
    }
    if (j == n_) return j;
    return last > i ? last : j;
  }
};

// A position in (lo, hi] at which text can be cut so both sides pre-tokenize exactly as the whole
// does with the gpt2/gpt4 patterns: just after a lone '\n' between two ASCII non-space bytes.
// (Not after a longer run of white space: gpt2 splits a run before a word differently from a run
// at the end of the text.) 0 if there is none.
inline bool ascii_nonspace(uint8_t c) { return c < 0x80 && c != ' ' && !(c >= 9 && c <= 13); }
inline size_t safe_cut(const uint8_t* s, size_t lo, size_t hi, size_t n) {
  for (size_t i = hi; i > lo; i--) {
    size_t p = i - 1;
    if (s[p] == '\n' && p >= 1 && p + 1 < n && ascii_nonspace(s[p + 1]) && ascii_nonspace(s[p - 1])) return p + 1;
  }
  return 0;
}

// Splits [0, n) into chunks of about `target` bytes at safe cuts (as few as needed).
inline void safe_chunks(const uint8_t* s, size_t n, size_t target, std::vector<size_t>* bounds) {
  bounds->clear();
  bounds->push_back(0);
  size_t start = 0;
  while (n - start > target + target / 2) {
    size_t cut = safe_cut(s, start + target / 2, start + target, n);
    if (!cut) cut = safe_cut(s, start + target, std::min(n, start + 4 * target), n);
    if (!cut || cut <= start) break;
    bounds->push_back(cut);
    start = cut;
  }
  bounds->push_back(n);
}

inline uint64_t hash_bytes(const uint8_t* p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = (h ^ v) * 0xc4ceb9fe1a85ec53ull;
  }
  h ^= h >> 32;
  h *= 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 29);
}

// Open-addressing map from byte strings to a 64-bit value; keys live in one arena.
class ByteMap {
 public:
  struct Slot {
    uint64_t hash;
    uint64_t value;
    uint32_t key_off;
    uint32_t key_len;  // 0 = empty slot (keys are never empty)
  };

  explicit ByteMap(size_t cap = 1 << 12) { reset(cap); }

  void reset(size_t cap) {
    size_t c = 16;
    while (c < cap) c <<= 1;
    slots_.assign(c, Slot{0, 0, 0, 0});
    mask_ = c - 1;
    size_ = 0;
    arena_.clear();
  }

  size_t size() const { return size_; }
  size_t arena_bytes() const { return arena_.size(); }

  // Pointer to the value of key, inserting `init` if absent.
  uint64_t* upsert(const uint8_t* key, uint32_t len, uint64_t hash, uint64_t init, bool* inserted) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    size_t h = hash & mask_;
    for (;;) {
      Slot& s = slots_[h];
      if (s.key_len == 0) {
        s.hash = hash;
        s.value = init;
        s.key_off = static_cast<uint32_t>(arena_.size());
        s.key_len = len;
        arena_.insert(arena_.end(), key, key + len);
        size_++;
        *inserted = true;
        return &s.value;
      }
      if (s.hash == hash && s.key_len == len && std::memcmp(arena_.data() + s.key_off, key, len) == 0) {
        *inserted = false;
        return &s.value;
      }
      h = (h + 1) & mask_;
    }
  }

  const uint64_t* find(const uint8_t* key, uint32_t len, uint64_t hash) const {
    size_t h = hash & mask_;
    for (;;) {
      const Slot& s = slots_[h];
      if (s.key_len == 0) return nullptr;
      if (s.hash == hash && s.key_len == len && std::memcmp(arena_.data() + s.key_off, key, len) == 0) return &s.value;
      h = (h + 1) & mask_;
    }
  }

  template <class F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_)
      if (s.key_len) f(arena_.data() + s.key_off, s.key_len, s.value);
  }

 private:
  std::vector<Slot> slots_;
  std::vector<uint8_t> arena_;
  size_t mask_ = 0;
  size_t size_ = 0;

  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, Slot{0, 0, 0, 0});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (!s.key_len) continue;
      size_t h = s.hash & mask_;
      while (slots_[h].key_len) h = (h + 1) & mask_;
      slots_[h] = s;
    }
  }
};

// UTF-8 of a JS string into `out` (cleared first).
inline void utf8_of(napi_env env, napi_value v, std::string* out) {
  size_t len = 0;
  napi_status st = napi_get_value_string_utf8(env, v, nullptr, 0, &len);
  if (st != napi_ok) throw Napi::TypeError::New(env, "expected a string");
  out->resize(len + 1);
  size_t written = 0;
  napi_get_value_string_utf8(env, v, &(*out)[0], len + 1, &written);
  out->resize(written);
}

}  // namespace bpe
}  // namespace llmf
