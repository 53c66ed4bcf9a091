/* Errors thrown to JS for a failed IOKit call: an Error carrying the IOReturn as `ioReturn`. */
#ifndef DEXTIO_NATIVE_ERRORS_H
#define DEXTIO_NATIVE_ERRORS_H

#include <napi.h>

#include <cstdio>
#include <string>

#include <IOKit/IOKitLib.h>

namespace dextio {

[[noreturn]] inline void ThrowIOReturn(Napi::Env env, const std::string &what, kern_return_t kr)
{
    char code[16];
    std::snprintf(code, sizeof code, "0x%08x", (unsigned)kr);
    Napi::Error error = Napi::Error::New(env, what + " failed with IOReturn " + code);
    error.Set("ioReturn", Napi::Number::New(env, (double)(int32_t)kr));
    throw error;
}

} // namespace dextio

#endif
