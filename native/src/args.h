// Argument checking for N-API kernels. Every kernel validates sizes against the
// buffers it was given before touching memory, and throws a JS error that names the
// kernel and the argument, so bad input from JS can never become a native crash.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

namespace llmf {

inline std::string arg_error_prefix(const char* op, int index) {
  return std::string(op) + ": argument " + std::to_string(index);
}

inline Napi::TypedArray typed_array_arg(const Napi::CallbackInfo& info, const char* op, int index,
                                        napi_typedarray_type type, const char* type_name) {
  if (static_cast<int>(info.Length()) <= index || !info[index].IsTypedArray())
    throw Napi::TypeError::New(info.Env(), arg_error_prefix(op, index) + " must be a " + type_name);
  Napi::TypedArray arr = info[index].As<Napi::TypedArray>();
  if (arr.TypedArrayType() != type)
    throw Napi::TypeError::New(info.Env(), arg_error_prefix(op, index) + " must be a " + type_name);
  return arr;
}

struct F32Arg {
  float* data;
  int64_t length;
};
struct I32Arg {
  int32_t* data;
  int64_t length;
};

inline F32Arg f32_arg(const Napi::CallbackInfo& info, const char* op, int index) {
  auto arr = typed_array_arg(info, op, index, napi_float32_array, "Float32Array").As<Napi::Float32Array>();
  return {arr.Data(), static_cast<int64_t>(arr.ElementLength())};
}

// null/undefined → {nullptr, 0}: for optional operands such as a LayerNorm bias.
inline F32Arg f32_arg_optional(const Napi::CallbackInfo& info, const char* op, int index) {
  if (static_cast<int>(info.Length()) <= index || info[index].IsNull() || info[index].IsUndefined())
    return {nullptr, 0};
  return f32_arg(info, op, index);
}

inline I32Arg i32_arg(const Napi::CallbackInfo& info, const char* op, int index) {
  auto arr = typed_array_arg(info, op, index, napi_int32_array, "Int32Array").As<Napi::Int32Array>();
  return {arr.Data(), static_cast<int64_t>(arr.ElementLength())};
}

inline int64_t int_arg(const Napi::CallbackInfo& info, const char* op, int index, int64_t min_value = 0) {
  if (static_cast<int>(info.Length()) <= index || !info[index].IsNumber())
    throw Napi::TypeError::New(info.Env(), arg_error_prefix(op, index) + " must be an integer");
  double d = info[index].As<Napi::Number>().DoubleValue();
  int64_t v = static_cast<int64_t>(d);
  if (static_cast<double>(v) != d)
    throw Napi::TypeError::New(info.Env(), arg_error_prefix(op, index) + " must be an integer, got " + std::to_string(d));
  if (v < min_value)
    throw Napi::RangeError::New(info.Env(), arg_error_prefix(op, index) + " must be >= " + std::to_string(min_value) +
                                                ", got " + std::to_string(v));
  return v;
}

inline double num_arg(const Napi::CallbackInfo& info, const char* op, int index) {
  if (static_cast<int>(info.Length()) <= index || !info[index].IsNumber())
    throw Napi::TypeError::New(info.Env(), arg_error_prefix(op, index) + " must be a number");
  return info[index].As<Napi::Number>().DoubleValue();
}

inline bool bool_arg(const Napi::CallbackInfo& info, const char* op, int index) {
  if (static_cast<int>(info.Length()) <= index || !info[index].IsBoolean())
    throw Napi::TypeError::New(info.Env(), arg_error_prefix(op, index) + " must be a boolean");
  return info[index].As<Napi::Boolean>().Value();
}

// Throws unless `buf` holds at least `need` elements.
template <class Buf>
inline void require_length(const Napi::CallbackInfo& info, const char* op, const char* name, const Buf& buf,
                           int64_t need) {
  if (buf.length < need)
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": " + name + " has " + std::to_string(buf.length) +
                                                " elements, needs " + std::to_string(need));
}

}  // namespace llmf
