// Native BPE training hot loops; the JavaScript twins are in src/tokenizer/train.ts (JsCounter)
// and src/tokenizer/merge-loop.ts (trainMergesJs), whose rule this follows exactly:
//   bpeCounterCreate(pattern, classRanges) -> counter
//   bpeCounterAdd(counter, texts[])         pre-tokenize and count pieces, on the thread pool
//   bpeCounterTake(counter) -> {bytes, offsets, counts}   distinct pieces sorted by bytes
//   bpeTrainMerges(bytes, offsets, counts, numTokens, minFrequency, progress) -> Int32Array (a, b)*
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <numeric>
#include <unordered_map>

#include "args.h"
#include "bpe_common.h"
#include "pool.h"
#include "registry.h"

namespace llmf {
namespace bpe {
namespace {

struct Counter {
  Pattern pattern;
  const uint8_t* classes;
  std::vector<std::unique_ptr<ByteMap>> maps;  // one per pool thread id
};

Counter* counter_arg(const Napi::CallbackInfo& info, const char* op) {
  if (info.Length() < 1 || !info[0].IsExternal())
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": argument 0 must be a counter handle");
  return info[0].As<Napi::External<Counter>>().Data();
}

Napi::Value CounterCreate(const Napi::CallbackInfo& info) {
  int64_t pattern = int_arg(info, "bpeCounterCreate", 0, 0);
  if (pattern > 1) throw Napi::RangeError::New(info.Env(), "bpeCounterCreate: pattern must be 0 (gpt2) or 1 (gpt4)");
  const uint8_t* cls = unicode_classes(info, 1);
  auto* c = new Counter();
  c->pattern = static_cast<Pattern>(pattern);
  c->classes = cls;
  return Napi::External<Counter>::New(info.Env(), c, [](Napi::Env, Counter* p) { delete p; });
}

Napi::Value CounterAdd(const Napi::CallbackInfo& info) {
  Counter* c = counter_arg(info, "bpeCounterAdd");
  if (info.Length() < 2 || !info[1].IsArray()) throw Napi::TypeError::New(info.Env(), "bpeCounterAdd: argument 1 must be an array of strings");
  Napi::Array texts = info[1].As<Napi::Array>();
  std::string buf, one;
  struct Chunk {
    size_t begin, end;
  };
  std::vector<Chunk> chunks;
  std::vector<size_t> bounds;
  for (uint32_t i = 0; i < texts.Length(); i++) {
    Napi::Value v = texts.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(info.Env(), "bpeCounterAdd: element " + std::to_string(i) + " is not a string");
    utf8_of(info.Env(), v, &one);
    size_t base = buf.size();
    buf += one;
    safe_chunks(reinterpret_cast<const uint8_t*>(one.data()), one.size(), 512 << 10, &bounds);
    for (size_t k = 0; k + 1 < bounds.size(); k++) chunks.push_back({base + bounds[k], base + bounds[k + 1]});
  }
  int nt = static_cast<int>(std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(num_threads()), chunks.size())));
  while (static_cast<int>(c->maps.size()) < nt) c->maps.emplace_back(new ByteMap(1 << 16));
  const uint8_t* s = reinterpret_cast<const uint8_t*>(buf.data());
  std::atomic<size_t> next{0};
  run_threads(nt, [&](int tid) {
    ByteMap& map = *c->maps[tid];
    for (;;) {
      size_t k = next.fetch_add(1, std::memory_order_relaxed);
      if (k >= chunks.size()) break;
      const uint8_t* p = s + chunks[k].begin;
      size_t n = chunks[k].end - chunks[k].begin;
      Scanner sc(c->classes, c->pattern, p, n);
      size_t i = 0;
      while (i < n) {
        size_t j = sc.next_piece(i);
        bool ins;
        (*map.upsert(p + i, static_cast<uint32_t>(j - i), hash_bytes(p + i, j - i), 0, &ins))++;
        i = j;
      }
    }
  });
  return info.Env().Undefined();
}

Napi::Value CounterTake(const Napi::CallbackInfo& info) {
  Counter* c = counter_arg(info, "bpeCounterTake");
  if (!c->maps.empty()) {
    // Merge the per-thread maps into the first one.
    ByteMap& first = *c->maps[0];
    for (size_t t = 1; t < c->maps.size(); t++) {
      c->maps[t]->for_each([&](const uint8_t* k, uint32_t len, uint64_t v) {
        bool ins;
        *first.upsert(k, len, hash_bytes(k, len), 0, &ins) += v;
      });
      c->maps[t].reset();
    }
    struct Entry {
      const uint8_t* p;
      uint32_t len;
      uint64_t count;
    };
    std::vector<Entry> entries;
    entries.reserve(first.size());
    first.for_each([&](const uint8_t* k, uint32_t len, uint64_t v) { entries.push_back({k, len, v}); });
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      int r = std::memcmp(a.p, b.p, std::min(a.len, b.len));
      return r != 0 ? r < 0 : a.len < b.len;
    });
    size_t bytes = 0;
    for (auto& e : entries) bytes += e.len;
    if (bytes > 0xffffffffull) throw Napi::RangeError::New(info.Env(), "bpeCounterTake: more than 4 GB of distinct pieces");
    auto out_bytes = Napi::Uint8Array::New(info.Env(), bytes);
    auto out_off = Napi::Uint32Array::New(info.Env(), entries.size() + 1);
    auto out_cnt = Napi::Float64Array::New(info.Env(), entries.size());
    size_t off = 0;
    for (size_t i = 0; i < entries.size(); i++) {
      out_off[i] = static_cast<uint32_t>(off);
      std::memcpy(out_bytes.Data() + off, entries[i].p, entries[i].len);
      off += entries[i].len;
      out_cnt[i] = static_cast<double>(entries[i].count);
    }
    out_off[entries.size()] = static_cast<uint32_t>(off);
    c->maps.clear();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("bytes", out_bytes);
    o.Set("offsets", out_off);
    o.Set("counts", out_cnt);
    return o;
  }
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("bytes", Napi::Uint8Array::New(info.Env(), 0));
  auto off = Napi::Uint32Array::New(info.Env(), 1);
  off[0] = 0;
  o.Set("offsets", off);
  o.Set("counts", Napi::Float64Array::New(info.Env(), 0));
  return o;
}

// ---- merge loop ---------------------------------------------------------------------------

class MergeLoop {
 public:
  MergeLoop(const uint8_t* bytes, const uint32_t* offsets, const double* counts, size_t words)
      : offsets_(offsets), words_(words) {
    size_t total = offsets[words];
    sym_.resize(total);
    nxt_.resize(total);
    prv_.resize(total);
    cnt_.resize(words);
    for (size_t w = 0; w < words; w++) {
      cnt_[w] = static_cast<int64_t>(counts[w]);
      size_t s = offsets[w], e = offsets[w + 1];
      for (size_t i = s; i < e; i++) {
        sym_[i] = bytes[i];
        nxt_[i] = i + 1 < e ? static_cast<int32_t>(i + 1) : -1;
        prv_[i] = i > s ? static_cast<int32_t>(i - 1) : -1;
      }
    }
    table_reset(1 << 16);
    for (size_t w = 0; w < words; w++) {
      for (size_t i = offsets[w]; i + 1 < offsets[w + 1]; i++) {
        int32_t s = slot_of(sym_[i], sym_[i + 1]);
        pc_[s] += cnt_[w];
        add_occ(s, static_cast<int32_t>(w));
      }
    }
    heap_live_ = true;
    heap_rebuild();
    visited_.assign(words, -1);
    for (int b = 0; b < 256; b++) {
      tokens_.push_back(std::string(1, static_cast<char>(b)));
      by_key_.emplace(tokens_.back(), b);
    }
  }

  // Runs until num_tokens tokens exist or no pair occurs min_frequency times.
  template <class Progress>
  std::vector<int32_t> run(size_t num_tokens, int64_t min_frequency, Progress&& progress) {
    std::vector<int32_t> merges;
    int32_t step = 0;
    while (tokens_.size() < num_tokens) {
      int32_t best = -1;
      while (!heap_.empty()) {
        HeapEntry top = heap_.front();
        heap_pop();
        if (top.count == pc_[top.slot]) {
          if (top.count >= min_frequency && top.count > 0) {
            best = top.slot;
            break;
          }
          continue;
        }
        if (pc_[top.slot] > 0) heap_push(top.slot, pc_[top.slot]);
      }
      if (best < 0) break;
      int32_t a = pa_[best], b = pb_[best];
      std::string merged = tokens_[a] + tokens_[b];
      int32_t id;
      auto it = by_key_.find(merged);
      if (it != by_key_.end()) {
        id = it->second;
      } else {
        id = static_cast<int32_t>(tokens_.size());
        tokens_.push_back(merged);
        by_key_.emplace(std::move(merged), id);
      }
      merges.push_back(a);
      merges.push_back(b);
      step_ = ++step;
      changed_.clear();
      int32_t e = head_[best];
      head_[best] = -1;
      while (e >= 0) {
        int32_t w = pool_word_[e];
        e = pool_next_[e];
        if (visited_[w] == step) continue;
        visited_[w] = step;
        int64_t c = cnt_[w];
        int32_t i = static_cast<int32_t>(offsets_[w]);
        while (i >= 0) {
          int32_t j = nxt_[i];
          if (j < 0) break;
          if (sym_[i] == a && sym_[j] == b) {
            int32_t p = prv_[i], q = nxt_[j];
            if (p >= 0) {
              bump(sym_[p], a, -c, w);
              bump(sym_[p], id, c, w);
            }
            if (q >= 0) {
              bump(b, sym_[q], -c, w);
              bump(id, sym_[q], c, w);
            }
            bump(a, b, -c, w);
            sym_[i] = id;
            sym_[j] = -1;
            nxt_[i] = q;
            if (q >= 0) prv_[q] = i;
            i = q;
          } else {
            i = j;
          }
        }
      }
      int32_t s_ab = slot_of(a, b);
      pc_[s_ab] = 0;
      head_[s_ab] = -1;
      for (size_t k = 0; k < changed_.size(); k += 2) {
        int32_t s = slot_of(changed_[k], changed_[k + 1]);
        if (pc_[s] > 0) heap_push(s, pc_[s]);
      }
      progress(tokens_.size());
    }
    return merges;
  }

 private:
  struct HeapEntry {
    int64_t count;
    int32_t slot;
  };

  const uint32_t* offsets_;
  size_t words_;
  std::vector<int32_t> sym_, nxt_, prv_;
  std::vector<int64_t> cnt_;
  // Pair table.
  std::vector<int32_t> pa_, pb_, head_, mark_;
  std::vector<int64_t> pc_;
  size_t mask_ = 0, used_ = 0;
  // Occurrence pool.
  std::vector<int32_t> pool_word_, pool_next_;
  // Heap.
  std::vector<HeapEntry> heap_;
  bool heap_live_ = false;
  std::vector<int32_t> visited_;
  std::vector<int32_t> changed_;
  int32_t step_ = 0;
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int32_t> by_key_;

  static inline uint32_t hash(int32_t a, int32_t b) {
    uint32_t x = static_cast<uint32_t>(a) * 0x9e3779b1u;
    uint32_t y = (static_cast<uint32_t>(b) + 0x7f4a7c15u) * 0x85ebca6bu;
    return x ^ y;
  }

  void table_reset(size_t cap) {
    pa_.assign(cap, -1);
    pb_.assign(cap, 0);
    pc_.assign(cap, 0);
    head_.assign(cap, -1);
    mark_.assign(cap, -1);
    mask_ = cap - 1;
    used_ = 0;
  }

  void grow() {
    std::vector<int32_t> oa, ob, oh, om;
    std::vector<int64_t> oc;
    oa.swap(pa_);
    ob.swap(pb_);
    oh.swap(head_);
    om.swap(mark_);
    oc.swap(pc_);
    size_t used = used_;
    table_reset(oa.size() * 2);
    used_ = used;
    for (size_t s = 0; s < oa.size(); s++) {
      if (oa[s] < 0) continue;
      size_t h = hash(oa[s], ob[s]) & mask_;
      while (pa_[h] >= 0) h = (h + 1) & mask_;
      pa_[h] = oa[s];
      pb_[h] = ob[s];
      pc_[h] = oc[s];
      head_[h] = oh[s];
      mark_[h] = om[s];
    }
    if (heap_live_) heap_rebuild();
  }

  int32_t slot_of(int32_t a, int32_t b) {
    for (;;) {
      size_t h = hash(a, b) & mask_;
      for (;;) {
        int32_t ka = pa_[h];
        if (ka == a && pb_[h] == b) return static_cast<int32_t>(h);
        if (ka < 0) break;
        h = (h + 1) & mask_;
      }
      if ((used_ + 1) * 2 > pa_.size()) {
        grow();
        continue;
      }
      pa_[h] = a;
      pb_[h] = b;
      pc_[h] = 0;
      head_[h] = -1;
      mark_[h] = -1;
      used_++;
      return static_cast<int32_t>(h);
    }
  }

  void add_occ(int32_t s, int32_t w) {
    int32_t h = head_[s];
    if (h >= 0 && pool_word_[h] == w) return;
    pool_word_.push_back(w);
    pool_next_.push_back(h);
    head_[s] = static_cast<int32_t>(pool_word_.size() - 1);
  }

  void bump(int32_t x, int32_t y, int64_t delta, int32_t w) {
    int32_t s = slot_of(x, y);
    pc_[s] += delta;
    if (delta > 0) {
      add_occ(s, w);
      if (mark_[s] != step_) {
        mark_[s] = step_;
        changed_.push_back(x);
        changed_.push_back(y);
      }
    }
  }

  // Max-heap order: count desc, then left id asc, then right id asc.
  inline bool better(const HeapEntry& x, const HeapEntry& y) const {
    if (x.count != y.count) return x.count > y.count;
    if (pa_[x.slot] != pa_[y.slot]) return pa_[x.slot] < pa_[y.slot];
    return pb_[x.slot] < pb_[y.slot];
  }
  void sift_down(size_t i) {
    size_t n = heap_.size();
    for (;;) {
      size_t l = 2 * i + 1, r = l + 1, m = i;
      if (l < n && better(heap_[l], heap_[m])) m = l;
      if (r < n && better(heap_[r], heap_[m])) m = r;
      if (m == i) return;
      std::swap(heap_[i], heap_[m]);
      i = m;
    }
  }
  void heap_push(int32_t slot, int64_t count) {
    heap_.push_back({count, slot});
    size_t i = heap_.size() - 1;
    while (i > 0) {
      size_t p = (i - 1) / 2;
      if (!better(heap_[i], heap_[p])) break;
      std::swap(heap_[i], heap_[p]);
      i = p;
    }
  }
  void heap_pop() {
    heap_.front() = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(0);
  }
  void heap_rebuild() {
    heap_.clear();
    for (size_t s = 0; s < pa_.size(); s++)
      if (pa_[s] >= 0 && pc_[s] > 0) heap_.push_back({pc_[s], static_cast<int32_t>(s)});
    for (size_t i = heap_.size() / 2; i-- > 0;) sift_down(i);
  }
};

Napi::Value TrainMerges(const Napi::CallbackInfo& info) {
  const char* op = "bpeTrainMerges";
  Napi::Env env = info.Env();
  auto bytes = typed_array_arg(info, op, 0, napi_uint8_array, "Uint8Array").As<Napi::Uint8Array>();
  auto offsets = typed_array_arg(info, op, 1, napi_uint32_array, "Uint32Array").As<Napi::Uint32Array>();
  auto counts = typed_array_arg(info, op, 2, napi_float64_array, "Float64Array").As<Napi::Float64Array>();
  int64_t num_tokens = int_arg(info, op, 3, 256);
  int64_t min_freq = int_arg(info, op, 4, 1);
  if (info.Length() < 6 || !info[5].IsFunction()) throw Napi::TypeError::New(env, "bpeTrainMerges: argument 5 must be a function");
  Napi::Function progress = info[5].As<Napi::Function>();
  size_t words = counts.ElementLength();
  if (offsets.ElementLength() != words + 1) throw Napi::RangeError::New(env, "bpeTrainMerges: offsets must have words + 1 entries");
  for (size_t w = 0; w < words; w++)
    if (offsets[w] > offsets[w + 1]) throw Napi::RangeError::New(env, "bpeTrainMerges: offsets must not decrease");
  if (offsets[words] > bytes.ElementLength()) throw Napi::RangeError::New(env, "bpeTrainMerges: offsets run past bytes");
  if (offsets[words] > 0x7fffffffu) throw Napi::RangeError::New(env, "bpeTrainMerges: more than 2 GB of distinct pieces");
  MergeLoop loop(bytes.Data(), offsets.Data(), counts.Data(), words);
  auto last = std::chrono::steady_clock::now();
  std::vector<int32_t> merges = loop.run(static_cast<size_t>(num_tokens), min_freq, [&](size_t tokens) {
    auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(100)) return;
    last = now;
    progress.Call({Napi::Number::New(env, static_cast<double>(tokens))});
  });
  auto out = Napi::Int32Array::New(env, merges.size());
  if (!merges.empty()) std::memcpy(out.Data(), merges.data(), merges.size() * sizeof(int32_t));
  return out;
}

}  // namespace

LLMF_EXPORT("bpeCounterCreate", CounterCreate);
LLMF_EXPORT("bpeCounterAdd", CounterAdd);
LLMF_EXPORT("bpeCounterTake", CounterTake);
LLMF_EXPORT("bpeTrainMerges", TrainMerges);

}  // namespace bpe
}  // namespace llmf
