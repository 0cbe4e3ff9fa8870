// Module entry: exports every function registered with LLMF_EXPORT, plus the
// pool and dispatch controls.
#include <napi.h>

#include "cpu.h"
#include "pool.h"
#include "registry.h"
#include "args.h"

namespace llmf {

std::vector<Export>& exports_registry() {
  static std::vector<Export> registry;
  return registry;
}

static Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), num_threads()); }

static Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int64_t n = int_arg(info, "setThreads", 0, 1);
  if (n > 4096) throw Napi::RangeError::New(info.Env(), "setThreads: at most 4096 threads");
  set_num_threads(static_cast<int>(n));
  return Napi::Number::New(info.Env(), num_threads());
}

static Napi::Value GetIsa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), isa_name(active_isa())); }

static Napi::Value SetIsaCap(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "setIsa: expected a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  Isa cap;
  if (name == "portable") cap = Isa::Portable;
  else if (name == "neon") cap = Isa::Neon;
  else if (name == "avx2") cap = Isa::Avx2;
  else if (name == "avx512") cap = Isa::Avx512;
  else throw Napi::RangeError::New(info.Env(), "setIsa: unknown ISA '" + name + "' (portable, neon, avx2, avx512)");
  return Napi::String::New(info.Env(), isa_name(set_isa_cap(cap)));
}

LLMF_EXPORT("getThreads", GetThreads);
LLMF_EXPORT("setThreads", SetThreads);
LLMF_EXPORT("getIsa", GetIsa);
LLMF_EXPORT("setIsa", SetIsaCap);

}  // namespace llmf

static Napi::Object InitLlmforge(Napi::Env env, Napi::Object exports) {
  for (const llmf::Export& e : llmf::exports_registry()) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
  return exports;
}

NODE_API_MODULE(llmforge_native, InitLlmforge)
