// Each kernel file registers its N-API functions with LLMF_EXPORT, so adding a
// kernel never means editing a central list: addon.cc exports whatever registered.
#pragma once
#include <napi.h>
#include <vector>

namespace llmf {

using NapiFn = Napi::Value (*)(const Napi::CallbackInfo&);

struct Export {
  const char* name;
  NapiFn fn;
};

std::vector<Export>& exports_registry();

struct Registrar {
  Registrar(const char* name, NapiFn fn) { exports_registry().push_back({name, fn}); }
};

}  // namespace llmf

#define LLMF_CONCAT_(a, b) a##b
#define LLMF_CONCAT(a, b) LLMF_CONCAT_(a, b)
#define LLMF_EXPORT(name, fn) static ::llmf::Registrar LLMF_CONCAT(llmf_registrar_, __LINE__)(name, fn)
