/*
 * services(): the dext's services as the IORegistry shows them, without opening a connection.
 */
#ifndef DEXTIO_NATIVE_SERVICES_H
#define DEXTIO_NATIVE_SERVICES_H

#include <napi.h>

namespace dextio {

Napi::Value Services(const Napi::CallbackInfo &info);

} // namespace dextio

#endif
