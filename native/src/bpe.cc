// Native BPE encoder: pre-tokenizer (gpt2/gpt4 scanners) + byte-pair merges + a per-thread
// piece cache. The JavaScript twin is src/tokenizer/tokenizer.ts (encodeOrdinaryJs).
//   bpeCreate(pattern, byteIds, mergeA, mergeB, mergeResult, classRanges) -> handle
//   bpeEncode(handle, text) -> Uint32Array
//   bpeEncodeBatch(handle, texts[]) -> Uint32Array[]   (on the thread pool)
// Merge rule: lowest rank first, leftmost on ties (GPT-2, tiktoken, Hugging Face).
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <queue>

#include "args.h"
#include "bpe_common.h"
#include "pool.h"
#include "registry.h"

namespace llmf {
namespace bpe {

const uint8_t* unicode_classes(const Napi::CallbackInfo& info, int arg_index) {
  static std::mutex mu;
  static std::vector<uint8_t> table;
  std::lock_guard<std::mutex> lock(mu);
  if (!table.empty()) return table.data();
  if (static_cast<int>(info.Length()) <= arg_index || !info[arg_index].IsTypedArray() ||
      info[arg_index].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
    throw Napi::TypeError::New(info.Env(), "classRanges must be a Uint32Array");
  auto arr = info[arg_index].As<Napi::Uint32Array>();
  size_t n = arr.ElementLength();
  if (n % 3 != 0) throw Napi::RangeError::New(info.Env(), "classRanges must hold (start, end, class) triples");
  std::vector<uint8_t> t(0x110000, kOther);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t s = arr[i], e = arr[i + 1], c = arr[i + 2];
    if (s > e || e > 0x110000 || c > 3) throw Napi::RangeError::New(info.Env(), "classRanges: bad triple");
    std::fill(t.begin() + s, t.begin() + e, static_cast<uint8_t>(c));
  }
  table.swap(t);
  return table.data();
}

namespace {

constexpr int32_t kNoRank = 0x7fffffff;

// (a, b) -> (rank, result), open addressing; key and value share a 16-byte slot (one cache miss).
class PairMap {
 public:
  void build(const int32_t* a, const int32_t* b, const int32_t* r, size_t n) {
    size_t cap = 16;
    while (cap < n * 2 + 2) cap <<= 1;
    slots_.assign(cap, Slot{kEmpty, 0, 0});
    mask_ = cap - 1;
    for (size_t i = 0; i < n; i++) {
      uint64_t k = key(a[i], b[i]);
      size_t h = mix(k) & mask_;
      while (slots_[h].key != kEmpty && slots_[h].key != k) h = (h + 1) & mask_;
      if (slots_[h].key == k) continue;  // a pair listed twice keeps its first rank
      slots_[h] = Slot{k, static_cast<int32_t>(i), static_cast<uint32_t>(r[i])};
    }
  }
  // Returns the rank (kNoRank if absent) and sets *result.
  inline int32_t lookup(uint32_t a, uint32_t b, uint32_t* result) const {
    uint64_t k = key(a, b);
    size_t h = mix(k) & mask_;
    for (;;) {
      const Slot& s = slots_[h];
      if (s.key == k) {
        *result = s.result;
        return s.rank;
      }
      if (s.key == kEmpty) return kNoRank;
      h = (h + 1) & mask_;
    }
  }

 private:
  struct Slot {
    uint64_t key;
    int32_t rank;
    uint32_t result;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  static inline uint64_t key(uint32_t a, uint32_t b) { return (static_cast<uint64_t>(a) << 32) | b; }
  static inline uint64_t mix(uint64_t k) {
    k ^= k >> 31;
    k *= 0x9e3779b97f4a7c15ull;
    return k ^ (k >> 29);
  }
};

// Piece → ids cache of one thread: open addressing, 32-byte slots. Pieces of up to 8 bytes (most
// of them) are compared inside the slot without touching the key arena; a single-id result is
// stored inline. The table starts small (hot pieces stay in L1/L2) and is cleared when full.
class PieceCache {
 public:
  PieceCache() { reset(1 << 12); }

  inline bool get(const uint8_t* p, uint32_t len, uint64_t h, uint64_t key8, std::vector<uint32_t>* out) const {
    size_t i = h & mask_;
    for (;;) {
      const Slot& s = slots_[i];
      if (s.len == 0) return false;
      if (s.hash == h && s.len == len && s.key8 == key8 && (len <= 8 || std::memcmp(keys_.data() + s.key_off, p, len) == 0)) {
        if (s.n == 1) out->push_back(s.val);
        else out->insert(out->end(), ids_.begin() + s.val, ids_.begin() + s.val + s.n);
        return true;
      }
      i = (i + 1) & mask_;
    }
  }

  inline void put(const uint8_t* p, uint32_t len, uint64_t h, uint64_t key8, const uint32_t* ids, uint32_t n) {
    if ((size_ + 1) * 2 > slots_.size()) {
      if (slots_.size() >= kMaxSlots || keys_.size() > (32u << 20)) reset(1 << 12);
      else grow();
    }
    size_t i = h & mask_;
    while (slots_[i].len != 0) i = (i + 1) & mask_;
    Slot& s = slots_[i];
    s.hash = h;
    s.key8 = key8;
    s.len = len;
    s.n = n;
    s.key_off = 0;
    if (len > 8) {
      s.key_off = static_cast<uint32_t>(keys_.size());
      keys_.insert(keys_.end(), p, p + len);
    }
    if (n == 1) {
      s.val = ids[0];
    } else {
      s.val = static_cast<uint32_t>(ids_.size());
      ids_.insert(ids_.end(), ids, ids + n);
    }
    size_++;
  }

  static inline uint64_t key8_of(const uint8_t* p, size_t len) {
    uint64_t v = 0;
    std::memcpy(&v, p, len < 8 ? len : 8);
    return v;
  }

 private:
  struct Slot {
    uint64_t hash;
    uint64_t key8;
    uint32_t len;  // 0 = empty
    uint32_t n;
    uint32_t val;
    uint32_t key_off;
  };
  static constexpr size_t kMaxSlots = 1 << 19;
  std::vector<Slot> slots_;
  std::vector<uint8_t> keys_;
  std::vector<uint32_t> ids_;
  size_t mask_ = 0, size_ = 0;

  void reset(size_t cap) {
    slots_.assign(cap, Slot{0, 0, 0, 0, 0, 0});
    mask_ = cap - 1;
    size_ = 0;
    keys_.clear();
    ids_.clear();
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, Slot{0, 0, 0, 0, 0, 0});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (!s.len) continue;
      size_t i = s.hash & mask_;
      while (slots_[i].len) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }
};

struct Encoder {
  Pattern pattern;
  const uint8_t* classes;
  uint32_t byte_id[256];
  PairMap pairs;
  std::vector<std::unique_ptr<PieceCache>> caches;  // one per pool thread id

  PieceCache& cache(int tid) {
    return *caches[tid];
  }
  void ensure_caches(int n) {
    while (static_cast<int>(caches.size()) < n) caches.emplace_back(new PieceCache());
  }

  // BPE of one piece; appends ids.
  void bpe(const uint8_t* p, size_t len, std::vector<uint32_t>* out) const {
    if (len > 64) return bpe_long(p, len, out);
    uint32_t parts[64];
    int32_t ranks[64];
    uint32_t results[64];
    size_t count = len;
    for (size_t i = 0; i < len; i++) parts[i] = byte_id[p[i]];
    for (size_t i = 0; i + 1 < count; i++) ranks[i] = pairs.lookup(parts[i], parts[i + 1], &results[i]);
    while (count > 1) {
      int32_t best = kNoRank;
      size_t at = 0;
      for (size_t i = 0; i + 1 < count; i++) {
        if (ranks[i] < best) {
          best = ranks[i];
          at = i;
        }
      }
      if (best == kNoRank) break;
      parts[at] = results[at];
      for (size_t i = at + 1; i + 1 < count; i++) {
        parts[i] = parts[i + 1];
        ranks[i] = ranks[i + 1];
        results[i] = results[i + 1];
      }
      count--;
      if (at > 0) ranks[at - 1] = pairs.lookup(parts[at - 1], parts[at], &results[at - 1]);
      if (at + 1 < count) ranks[at] = pairs.lookup(parts[at], parts[at + 1], &results[at]);
    }
    out->insert(out->end(), parts, parts + count);
  }

  // O(n log n) for long pieces: linked list + min-heap of (rank, position), stale entries skipped.
  void bpe_long(const uint8_t* p, size_t len, std::vector<uint32_t>* out) const {
    std::vector<uint32_t> sym(len);
    std::vector<int64_t> next(len), prev(len);
    for (size_t i = 0; i < len; i++) {
      sym[i] = byte_id[p[i]];
      next[i] = i + 1 < len ? static_cast<int64_t>(i + 1) : -1;
      prev[i] = static_cast<int64_t>(i) - 1;
    }
    struct Cand {
      int32_t rank;
      int64_t pos;
      uint32_t a, b;
      bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
    auto push = [&](int64_t i) {
      int64_t j = next[i];
      if (j < 0) return;
      uint32_t r;
      int32_t rank = pairs.lookup(sym[i], sym[j], &r);
      if (rank != kNoRank) heap.push(Cand{rank, i, sym[i], sym[j]});
    };
    for (size_t i = 0; i + 1 < len; i++) push(static_cast<int64_t>(i));
    const uint32_t kDead = ~0u;
    while (!heap.empty()) {
      Cand c = heap.top();
      heap.pop();
      int64_t i = c.pos;
      if (sym[i] != c.a) continue;
      int64_t j = next[i];
      if (j < 0 || sym[j] != c.b) continue;
      uint32_t r = 0;
      pairs.lookup(c.a, c.b, &r);
      sym[i] = r;
      sym[j] = kDead;
      int64_t k = next[j];
      next[i] = k;
      if (k >= 0) prev[k] = i;
      if (prev[i] >= 0) push(prev[i]);
      push(i);
    }
    for (int64_t i = 0; i >= 0; i = next[i]) out->push_back(sym[i]);
  }

  // Pre-tokenizes and encodes s[0, n), appending ids.
  void encode(const uint8_t* s, size_t n, PieceCache& cache, std::vector<uint32_t>* out) const {
    Scanner sc(classes, pattern, s, n);
    size_t i = 0;
    while (i < n) {
      size_t j = sc.next_piece(i);
      size_t len = j - i;
      const uint8_t* p = s + i;
      if (len == 1) {
        out->push_back(byte_id[p[0]]);
      } else if (len == 2) {
        uint32_t r;
        if (pairs.lookup(byte_id[p[0]], byte_id[p[1]], &r) != kNoRank) out->push_back(r);
        else {
          out->push_back(byte_id[p[0]]);
          out->push_back(byte_id[p[1]]);
        }
      } else {
        uint64_t h = hash_bytes(p, len);
        uint64_t key8 = PieceCache::key8_of(p, len);
        if (!cache.get(p, static_cast<uint32_t>(len), h, key8, out)) {
          size_t before = out->size();
          bpe(p, len, out);
          if (len <= 256) cache.put(p, static_cast<uint32_t>(len), h, key8, out->data() + before,
                                    static_cast<uint32_t>(out->size() - before));
        }
      }
      i = j;
    }
  }
};

Encoder* encoder_arg(const Napi::CallbackInfo& info, const char* op) {
  if (info.Length() < 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), std::string(op) + ": argument 0 must be an encoder handle");
  return info[0].As<Napi::External<Encoder>>().Data();
}

Napi::Value BpeCreate(const Napi::CallbackInfo& info) {
  const char* op = "bpeCreate";
  int64_t pattern = int_arg(info, op, 0, 0);
  if (pattern > 1) throw Napi::RangeError::New(info.Env(), "bpeCreate: pattern must be 0 (gpt2) or 1 (gpt4)");
  I32Arg byte_ids = i32_arg(info, op, 1);
  I32Arg a = i32_arg(info, op, 2);
  I32Arg b = i32_arg(info, op, 3);
  I32Arg r = i32_arg(info, op, 4);
  require_length(info, op, "byteIds", byte_ids, 256);
  if (a.length != b.length || a.length != r.length) throw Napi::RangeError::New(info.Env(), "bpeCreate: merge arrays differ in length");
  for (int64_t i = 0; i < a.length; i++)
    if (a.data[i] < 0 || b.data[i] < 0 || r.data[i] < 0) throw Napi::RangeError::New(info.Env(), "bpeCreate: negative id in merges");
  auto* enc = new Encoder();
  try {
    enc->classes = unicode_classes(info, 5);
  } catch (...) {
    delete enc;
    throw;
  }
  enc->pattern = static_cast<Pattern>(pattern);
  for (int i = 0; i < 256; i++) enc->byte_id[i] = static_cast<uint32_t>(byte_ids.data[i]);
  enc->pairs.build(a.data, b.data, r.data, static_cast<size_t>(a.length));
  enc->ensure_caches(1);
  return Napi::External<Encoder>::New(info.Env(), enc, [](Napi::Env, Encoder* e) { delete e; });
}

Napi::Uint32Array to_js(Napi::Env env, const uint32_t* p, size_t n) {
  auto arr = Napi::Uint32Array::New(env, n);
  if (n) std::memcpy(arr.Data(), p, n * sizeof(uint32_t));
  return arr;
}

// Encodes texts (already UTF-8, back to back) on the pool: chunks of ~256 KB cut at safe
// places, taken dynamically by the threads; the ids of each text are the concatenation of its
// chunks' ids in order, whatever thread ran them.
void encode_parallel(Encoder* enc, const std::string& buf, const std::vector<size_t>& text_off,
                     std::vector<std::vector<uint32_t>>* chunk_ids, std::vector<size_t>* chunk_text) {
  struct Chunk {
    size_t begin, end, text;
  };
  std::vector<Chunk> chunks;
  std::vector<size_t> bounds;
  const uint8_t* s = reinterpret_cast<const uint8_t*>(buf.data());
  const size_t kTarget = 256 << 10;
  for (size_t t = 0; t + 1 < text_off.size(); t++) {
    size_t b = text_off[t], e = text_off[t + 1];
    if (e - b <= kTarget + kTarget / 2) {
      chunks.push_back({b, e, t});
      continue;
    }
    safe_chunks(s + b, e - b, kTarget, &bounds);
    for (size_t k = 0; k + 1 < bounds.size(); k++) chunks.push_back({b + bounds[k], b + bounds[k + 1], t});
  }
  chunk_ids->assign(chunks.size(), {});
  chunk_text->resize(chunks.size());
  for (size_t c = 0; c < chunks.size(); c++) (*chunk_text)[c] = chunks[c].text;
  size_t total = buf.size();
  int nt = static_cast<int>(std::min<size_t>(static_cast<size_t>(num_threads()),
                                             std::max<size_t>(1, std::min(chunks.size(), total / (64 << 10) + 1))));
  enc->ensure_caches(std::max(nt, 1));
  std::atomic<size_t> next{0};
  run_threads(nt, [&](int tid) {
    PieceCache& cache = enc->cache(tid);
    for (;;) {
      size_t c = next.fetch_add(1, std::memory_order_relaxed);
      if (c >= chunks.size()) break;
      std::vector<uint32_t>& out = (*chunk_ids)[c];
      out.reserve((chunks[c].end - chunks[c].begin) / 3 + 16);
      enc->encode(s + chunks[c].begin, chunks[c].end - chunks[c].begin, cache, &out);
    }
  });
}

Napi::Value BpeEncode(const Napi::CallbackInfo& info) {
  Encoder* enc = encoder_arg(info, "bpeEncode");
  if (info.Length() < 2 || !info[1].IsString()) throw Napi::TypeError::New(info.Env(), "bpeEncode: argument 1 must be a string");
  std::string buf;
  utf8_of(info.Env(), info[1], &buf);
  const uint8_t* s = reinterpret_cast<const uint8_t*>(buf.data());
  if (buf.size() < (2u << 20) || num_threads() <= 1) {
    std::vector<uint32_t> out;
    out.reserve(buf.size() / 3 + 16);
    enc->encode(s, buf.size(), enc->cache(0), &out);
    return to_js(info.Env(), out.data(), out.size());
  }
  // Long text: cut at safe places and encode on all threads.
  std::vector<size_t> off{0, buf.size()};
  std::vector<std::vector<uint32_t>> parts;
  std::vector<size_t> which;
  encode_parallel(enc, buf, off, &parts, &which);
  size_t total = 0;
  for (auto& p : parts) total += p.size();
  auto arr = Napi::Uint32Array::New(info.Env(), total);
  size_t k = 0;
  for (auto& p : parts) {
    if (!p.empty()) std::memcpy(arr.Data() + k, p.data(), p.size() * sizeof(uint32_t));
    k += p.size();
  }
  return arr;
}

Napi::Value BpeEncodeBatch(const Napi::CallbackInfo& info) {
  Encoder* enc = encoder_arg(info, "bpeEncodeBatch");
  if (info.Length() < 2 || !info[1].IsArray()) throw Napi::TypeError::New(info.Env(), "bpeEncodeBatch: argument 1 must be an array of strings");
  Napi::Array texts = info[1].As<Napi::Array>();
  uint32_t n = texts.Length();
  std::string buf;
  std::string one;
  std::vector<size_t> off{0};
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value v = texts.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(info.Env(), "bpeEncodeBatch: element " + std::to_string(i) + " is not a string");
    utf8_of(info.Env(), v, &one);
    buf += one;
    off.push_back(buf.size());
  }
  std::vector<std::vector<uint32_t>> parts;
  std::vector<size_t> which;
  encode_parallel(enc, buf, off, &parts, &which);
  std::vector<size_t> count(n, 0);
  for (size_t c = 0; c < parts.size(); c++) count[which[c]] += parts[c].size();
  Napi::Array result = Napi::Array::New(info.Env(), n);
  std::vector<Napi::Uint32Array> arrays;
  arrays.reserve(n);
  for (uint32_t i = 0; i < n; i++) arrays.push_back(Napi::Uint32Array::New(info.Env(), count[i]));
  std::vector<size_t> filled(n, 0);
  for (size_t c = 0; c < parts.size(); c++) {
    size_t t = which[c];
    if (!parts[c].empty()) std::memcpy(arrays[t].Data() + filled[t], parts[c].data(), parts[c].size() * sizeof(uint32_t));
    filled[t] += parts[c].size();
  }
  for (uint32_t i = 0; i < n; i++) result.Set(i, arrays[i]);
  return result;
}

}  // namespace

LLMF_EXPORT("bpeCreate", BpeCreate);
LLMF_EXPORT("bpeEncode", BpeEncode);
LLMF_EXPORT("bpeEncodeBatch", BpeEncodeBatch);

}  // namespace bpe
}  // namespace llmf
