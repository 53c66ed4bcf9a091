// Host runtime: the object model (reference counting, dispatch, class registry), OSData, logging.
#include <DriverKit/DriverKit.h>
#include <os/log.h>
#include <dextio/host.h>
#include <mach/mach_time.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <chrono>
#include <thread>

#include "internal.h"

HostLiveCounters gHostLive;

OSMetaClassBase::OSMetaClassBase() : refcount(1)
{
    gHostLive.objects++;
}

OSMetaClassBase::~OSMetaClassBase()
{
    gHostLive.objects--;
}

void OSMetaClassBase::retain() const
{
    int32_t previous = refcount.fetch_add(1);
    if (previous <= 0) {
        fprintf(stderr, "dextio host: retain of a freed object %p\n", static_cast<const void *>(this));
        abort();
    }
}

void OSMetaClassBase::release() const
{
    int32_t previous = refcount.fetch_sub(1);
    if (previous <= 0) {
        fprintf(stderr, "dextio host: over-release of %p\n", static_cast<const void *>(this));
        abort();
    }
    if (previous == 1) {
        HostFinalize();
    }
}

bool OSMetaClassBase::isEqualTo(const OSMetaClassBase *anObject) const
{
    return this == anObject;
}

kern_return_t OSMetaClassBase::Dispatch(const IORPC rpc)
{
    return _Dispatch(this, rpc);
}

kern_return_t OSMetaClassBase::_Dispatch(OSMetaClassBase *, const IORPC)
{
    return kIOReturnUnsupported;
}

kern_return_t OSHostCall(OSMetaClassBase *self, uint64_t msgid, uint64_t typeMsgid, void *arguments,
                         OSDispatchMethod supermethod)
{
    IORPC rpc = { msgid, typeMsgid, arguments };
    return supermethod != nullptr ? supermethod(self, rpc) : self->Dispatch(rpc);
}

OSObject::OSObject() : hostDefaultQueue(nullptr), hostFreeReached(false) {}

OSObject::~OSObject() = default;

bool OSObject::init()
{
    return true;
}

void OSObject::free()
{
    hostFreeReached = true;
    OSSafeReleaseNULL(hostDefaultQueue);
}

void OSObject::HostFinalize() const
{
    OSObject *self = const_cast<OSObject *>(this);
    self->free();
    if (!self->hostFreeReached) {
        fprintf(stderr, "dextio host: %s::free() did not call super::free()\n", typeid(*self).name());
        abort();
    }
    delete self;
}

IODispatchQueue *OSObject::HostDefaultQueue() const
{
    return hostDefaultQueue;
}

void OSObject::HostSetDefaultQueue(IODispatchQueue *queue)
{
    if (queue != nullptr) {
        queue->retain();
    }
    OSSafeReleaseNULL(hostDefaultQueue);
    hostDefaultQueue = queue;
}

static OSClassRegistration *gClassRegistrations = nullptr;

OSClassRegistration::OSClassRegistration(const char *className, OSClassFactory classFactory)
    : name(className), factory(classFactory), next(gClassRegistrations)
{
    gClassRegistrations = this;
}

OSObject *OSHostCreateInstance(const char *className)
{
    for (OSClassRegistration *r = gClassRegistrations; r != nullptr; r = r->next) {
        if (strcmp(r->name, className) == 0) {
            return r->factory();
        }
    }
    return nullptr;
}

// OSData

OSDataPtr OSData::withCapacity(uint32_t capacity)
{
    OSData *data = new OSData;
    data->bytes = static_cast<uint8_t *>(malloc(capacity > 0 ? capacity : 1));
    if (data->bytes == nullptr || !data->init()) {
        data->release();
        return nullptr;
    }
    data->capacity = capacity;
    return data;
}

OSDataPtr OSData::withBytes(const void *bytes, size_t numBytes)
{
    if (numBytes > UINT32_MAX) {
        return nullptr;
    }
    OSData *data = withCapacity(static_cast<uint32_t>(numBytes));
    if (data != nullptr && !data->appendBytes(bytes, numBytes)) {
        OSSafeReleaseNULL(data);
    }
    return data;
}

OSDataPtr OSData::withBytesNoCopy(void *bytes, size_t numBytes)
{
    // DriverKit's OSData copies here too: the bytes live in another address space.
    return withBytes(bytes, numBytes);
}

bool OSData::appendBytes(const void *newBytes, size_t numBytes)
{
    if (numBytes == 0) {
        return true;
    }
    if (newBytes == nullptr) {
        return false;
    }
    if (length + numBytes > capacity) {
        size_t newCapacity = std::max(length + numBytes, capacity * 2);
        uint8_t *grown = static_cast<uint8_t *>(realloc(bytes, newCapacity));
        if (grown == nullptr) {
            return false;
        }
        bytes = grown;
        capacity = newCapacity;
    }
    memcpy(bytes + length, newBytes, numBytes);
    length += numBytes;
    return true;
}

const void *OSData::getBytesNoCopy() const
{
    return length > 0 ? bytes : nullptr;
}

const void *OSData::getBytesNoCopy(size_t start, size_t numBytes) const
{
    if (start > length || numBytes > length - start) {
        return nullptr;
    }
    return bytes + start;
}

size_t OSData::getLength() const
{
    return length;
}

bool OSData::isEqualTo(const OSMetaClassBase *anObject) const
{
    const OSData *other = OSDynamicCast(OSData, anObject);
    return other != nullptr && other->length == length && (length == 0 || memcmp(other->bytes, bytes, length) == 0);
}

void OSData::free()
{
    ::free(bytes);
    bytes = nullptr;
    OSObject::free();
}

// Logging

static bool HostLogEnabled()
{
    static const bool enabled = getenv("DEXTIO_HOST_LOG") != nullptr;
    return enabled;
}

void dextio_host_os_log(os_log_t, const char *format, ...)
{
    if (!HostLogEnabled()) {
        return;
    }
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
}

void IOLog(const char *format, ...)
{
    if (!HostLogEnabled()) {
        return;
    }
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
}

void IOSleep(uint64_t milliseconds)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(milliseconds));
}

uint64_t HostTimestamp()
{
    // completionTimestamp is in mach absolute-time ticks, as on macOS, not nanoseconds.
    return mach_absolute_time();
}

void DextioHostGetLiveCounts(DextioHostLiveCounts *counts)
{
    counts->objects = gHostLive.objects;
    counts->descriptors = gHostLive.descriptors;
    counts->actions = gHostLive.actions;
    counts->mappings = gHostLive.mappings;
    counts->clients = gHostLive.clients;
    counts->services = gHostLive.services;
    counts->queues = gHostLive.queues;
    counts->connections = gHostLive.connections;
    counts->notificationPorts = gHostLive.notificationPorts;
}
