// Host runtime: the user side (IOKitLib) and the "kernel" that connects it to the dext: the device
// tree (gadget -> IOUSBHostDevice -> IOUSBHostInterface -> the matched driver), connections,
// memory mappings and notification ports.
#include <IOKit/IOKitLib.h>
#include <dextio/host.h>
#include <USBDriverKit/IOUSBHostInterface.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "internal.h"
#include "queue.h"

const mach_port_t kIOMainPortDefault = MACH_PORT_NULL;

namespace {

struct Mapping {
    uint32_t type;
    IOMemoryDescriptor *memory;       // retained while mapped
    void *address;
    size_t size;
    uint32_t count;                   // mapping the same type again returns the same mapping
};

struct Connection {
    IOUserClient *client;             // retained
    IOService *driver;                // retained
    std::mutex mutex;
    std::vector<Mapping> mappings;
};

struct Handle {
    enum Kind { kService, kIterator, kConnection } kind;
    IOService *service = nullptr;                  // kService, retained
    std::vector<IOService *> services;             // kIterator, retained
    size_t next = 0;
    std::shared_ptr<Connection> connection;        // kConnection
    // An iterator made by IOServiceAddMatchingNotification: it collects the services of later
    // events and its callback runs on the port's queue.
    bool notification = false;
    bool terminations = false;
    std::string name;
    bool byName = false;
    mach_port_t port = MACH_PORT_NULL;
    IOServiceMatchingCallback callback = nullptr;
    void *refcon = nullptr;
};

struct World {
    std::mutex mutex;                 // handles, ports, the device tree pointers
    std::mutex plug;                  // serialises connect/disconnect
    VirtualGadgetZero gadget;
    HostUSBDeviceState *deviceState = nullptr;
    IOUSBHostDevice *device = nullptr;
    IOUSBHostInterface *interface = nullptr;
    IOService *driver = nullptr;
    uint32_t nextHandle = 0x1000;
    std::map<uint32_t, std::shared_ptr<Handle>> handles;
    std::map<uint32_t, IONotificationPortRef> ports;
    // Connections whose user client has not finished terminating: closed ones too, until the
    // termination thread is done with them. An unplug terminates them all.
    std::vector<std::shared_ptr<Connection>> live;
    // The kernel's termination thread: IOServiceClose only queues the termination here.
    HostSerialQueue terminations{ "IOServiceTerminate" };
    std::mutex holdMutex;
    std::condition_variable holdChanged;
    bool holdTerminations = false;

    World() { Attach(); }
    void Attach();
    void Detach();
};

World &TheWorld()
{
    // Never destroyed: dext queues may still be running when the process exits.
    static World *world = new World;
    return *world;
}

std::shared_ptr<Handle> FindHandle(uint32_t handle)
{
    World &w = TheWorld();
    std::lock_guard<std::mutex> lock(w.mutex);
    auto it = w.handles.find(handle);
    return it == w.handles.end() ? nullptr : it->second;
}

uint32_t AddHandle(std::shared_ptr<Handle> handle)
{
    World &w = TheWorld();
    std::lock_guard<std::mutex> lock(w.mutex);
    uint32_t name = w.nextHandle++;
    w.handles[name] = std::move(handle);
    return name;
}

std::shared_ptr<Connection> FindConnection(mach_port_t connection)
{
    std::shared_ptr<Handle> handle = FindHandle(connection);
    return handle != nullptr && handle->kind == Handle::kConnection ? handle->connection : nullptr;
}

bool Terminated(IOService *service)
{
    HostServiceState *state = service->HostState();
    std::lock_guard<std::mutex> lock(state->mutex);
    return state->terminated;
}

bool Matches(const std::string &name, bool byName, IOService *service)
{
    // The dext's service is an IOUserService whose name is its IOUserClass.
    return service->HostState()->registered &&
           (byName ? name == gHostPersonality.userClass : (name == "IOUserService" || name == "IOService"));
}

void PostToPortLocked(World &w, mach_port_t port, std::function<void()> work);

// Called with w.mutex held: queue the service on every matching notification of that kind.
void Notify(World &w, IOService *service, bool terminated)
{
    for (auto &entry : w.handles) {
        Handle &handle = *entry.second;
        if (!handle.notification || handle.terminations != terminated || !Matches(handle.name, handle.byName, service)) {
            continue;
        }
        service->retain();
        handle.services.push_back(service);
        io_iterator_t iterator = entry.first;
        IOServiceMatchingCallback callback = handle.callback;
        void *refcon = handle.refcon;
        PostToPortLocked(w, handle.port, [callback, refcon, iterator] { callback(refcon, iterator); });
    }
}

void World::Attach()
{
    gadget.Connect();
    deviceState = new HostUSBDeviceState;
    deviceState->gadget = &gadget;
    device = IOUSBHostDevice::HostCreate(deviceState);
    deviceState->device = device;
    interface = IOUSBHostInterface::HostCreate(deviceState, gHostPersonality.bInterfaceNumber);

    // Match the personality and start the driver on its own queue, as the DriverKit runtime does.
    std::vector<uint8_t> descriptor = gadget.DeviceDescriptor();
    uint16_t vendor = static_cast<uint16_t>(descriptor[8] | descriptor[9] << 8);
    uint16_t product = static_cast<uint16_t>(descriptor[10] | descriptor[11] << 8);
    if (vendor != gHostPersonality.idVendor || product != gHostPersonality.idProduct) {
        return;
    }
    IOService *service = OSDynamicCast(IOService, OSHostCreateInstance(gHostPersonality.userClass));
    if (service == nullptr) {
        fprintf(stderr, "dextio host: class %s is not linked in\n", gHostPersonality.userClass);
        return;
    }
    IODispatchQueue *queue = nullptr;
    IODispatchQueue::Create(kIOServiceDefaultQueueName, 0, 0, &queue);
    service->HostSetDefaultQueue(queue);
    OSSafeReleaseNULL(queue);
    interface->retain();
    service->HostState()->provider = interface;
    service->HostState()->personality = &gHostPersonality;
    kern_return_t ret = service->init() ? kIOReturnSuccess : kIOReturnNoMemory;
    if (ret == kIOReturnSuccess) {
        service->HostDefaultQueue()->HostQueue()->Sync([&] { ret = service->Start(interface); });
    }
    if (ret != kIOReturnSuccess) {
        fprintf(stderr, "dextio host: %s failed to start: 0x%x\n", gHostPersonality.userClass, ret);
        service->release();
        return;
    }
    std::lock_guard<std::mutex> lock(mutex);
    driver = service;
    Notify(*this, driver, false);
}

void World::Detach()
{
    gadget.Disconnect();
    deviceState->attached = false;

    // Terminate the user clients first (the driver's children), then the driver.
    // Retained here: a closed connection's termination may release them meanwhile.
    std::vector<std::pair<IOUserClient *, IOService *>> clients;
    IOService *stopping = nullptr;
    {
        std::lock_guard<std::mutex> lock(mutex);
        for (auto &connection : live) {
            connection->client->retain();
            connection->driver->retain();
            clients.emplace_back(connection->client, connection->driver);
        }
        stopping = driver;
        driver = nullptr;
    }
    for (auto &[client, provider] : clients) {
        HostTerminateService(client, provider);
        client->release();
        provider->release();
    }
    if (stopping != nullptr) {
        HostTerminateService(stopping, interface);
        {
            std::lock_guard<std::mutex> lock(mutex);
            Notify(*this, stopping, true);
        }
        stopping->release();
    }
    deviceState->device = nullptr;
    OSSafeReleaseNULL(interface);
    OSSafeReleaseNULL(device);
    deviceState->Release();
    deviceState = nullptr;
}

void Unmap(Mapping &mapping)
{
    munmap(mapping.address, mapping.size);
    OSSafeReleaseNULL(mapping.memory);
    gHostLive.mappings--;
}

// What the termination thread does for a closed connection: the user client's Stop (which the
// dext may finish much later), then the mappings, which xnu keeps with the user client until
// it is gone, then the kernel's references.
void Terminate(const std::shared_ptr<Connection> &connection)
{
    World &w = TheWorld();
    {
        std::unique_lock<std::mutex> lock(w.holdMutex);
        w.holdChanged.wait(lock, [&] { return !w.holdTerminations; });
    }
    HostTerminateService(connection->client, connection->driver);
    {
        std::lock_guard<std::mutex> lock(connection->mutex);
        for (Mapping &mapping : connection->mappings) {
            Unmap(mapping);
        }
        connection->mappings.clear();
    }
    {
        std::lock_guard<std::mutex> lock(w.mutex);
        w.live.erase(std::remove(w.live.begin(), w.live.end(), connection), w.live.end());
    }
    OSSafeReleaseNULL(connection->client);
    OSSafeReleaseNULL(connection->driver);
    gHostLive.connections--;
}

// Run a remote method of the client on its queue; refuse once the client is terminated.
kern_return_t OnClientQueue(const std::shared_ptr<Connection> &connection, const std::function<kern_return_t()> &work)
{
    kern_return_t ret = kIOReturnNoDevice;
    connection->client->HostDefaultQueue()->HostQueue()->Sync([&] {
        if (!Terminated(connection->client)) {
            ret = work();
        }
    });
    return ret;
}

uint64_t PageRound(uint64_t size)
{
    uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    return (size + page - 1) / page * page;
}

} // namespace

// CoreFoundation stand-ins. Every CF object here derives from HostCFObject alone (so the base is at
// the object's address), which lets CFRelease and CFGetTypeID take any of them.
struct HostCFObject {
    virtual ~HostCFObject() = default;
    virtual CFTypeID TypeID() const = 0;
};

namespace {
// Local values: CoreFoundation assigns its type IDs at run time.
enum : CFTypeID { kHostCFStringTypeID = 7, kHostCFDictionaryTypeID = 18, kHostCFNumberTypeID = 22 };
} // namespace

struct __CFDictionary : HostCFObject {
    __CFDictionary(std::string name, bool byName) : name(std::move(name)), byName(byName) {}
    CFTypeID TypeID() const override { return kHostCFDictionaryTypeID; }
    std::string name;
    bool byName;
};

struct __CFString : HostCFObject {
    __CFString(std::string value, bool constant) : value(std::move(value)), constant(constant) {}
    CFTypeID TypeID() const override { return kHostCFStringTypeID; }
    std::string value;
    bool constant;  // CFSTR's, which live for the whole process
};

struct __CFNumber : HostCFObject {
    explicit __CFNumber(int64_t value) : value(value) {}
    CFTypeID TypeID() const override { return kHostCFNumberTypeID; }
    int64_t value;
};

struct IONotificationPort {
    mach_port_t port;
    dispatch_queue_t queue;
};

mach_port_t mach_task_self(void)
{
    return 1;
}

const CFAllocatorRef kCFAllocatorDefault = nullptr;

void CFRelease(CFTypeRef cf)
{
    const auto *object = static_cast<const HostCFObject *>(cf);
    const auto *string = object->TypeID() == kHostCFStringTypeID ? static_cast<const __CFString *>(object) : nullptr;
    if (string == nullptr || !string->constant) {
        delete object;
    }
}

CFTypeID CFGetTypeID(CFTypeRef cf)
{
    return static_cast<const HostCFObject *>(cf)->TypeID();
}

CFTypeID CFNumberGetTypeID(void)
{
    return kHostCFNumberTypeID;
}

CFTypeID CFStringGetTypeID(void)
{
    return kHostCFStringTypeID;
}

Boolean CFStringGetCString(CFStringRef theString, char *buffer, CFIndex bufferSize, CFStringEncoding encoding)
{
    if (theString == nullptr || buffer == nullptr || encoding != kCFStringEncodingUTF8 || bufferSize <= 0 ||
        theString->value.size() + 1 > static_cast<size_t>(bufferSize)) {
        return false;
    }
    memcpy(buffer, theString->value.c_str(), theString->value.size() + 1);
    return true;
}

namespace {

template <typename T>
Boolean StoreNumber(int64_t value, void *valuePtr)
{
    T converted = static_cast<T>(value);
    memcpy(valuePtr, &converted, sizeof(converted));
    return converted == value;
}

} // namespace

Boolean CFNumberGetValue(CFNumberRef number, CFNumberType theType, void *valuePtr)
{
    switch (theType) {
    case kCFNumberSInt8Type:
        return StoreNumber<int8_t>(number->value, valuePtr);
    case kCFNumberSInt16Type:
        return StoreNumber<int16_t>(number->value, valuePtr);
    case kCFNumberSInt32Type:
        return StoreNumber<int32_t>(number->value, valuePtr);
    case kCFNumberSInt64Type:
        return StoreNumber<int64_t>(number->value, valuePtr);
    default:
        return false;
    }
}

CFStringRef __CFStringMakeConstantString(const char *cStr)
{
    static std::mutex mutex;
    static std::map<std::string, const __CFString *> *constants = new std::map<std::string, const __CFString *>;
    std::lock_guard<std::mutex> lock(mutex);
    const __CFString *&constant = (*constants)[cStr];
    if (constant == nullptr) {
        constant = new __CFString(cStr, true);
    }
    return constant;
}

CFMutableDictionaryRef IOServiceMatching(const char *name)
{
    return new __CFDictionary(name, false);
}

CFMutableDictionaryRef IOServiceNameMatching(const char *name)
{
    return new __CFDictionary(name, true);
}

kern_return_t IOServiceGetMatchingServices(mach_port_t, CFDictionaryRef matching, io_iterator_t *existing)
{
    if (matching == nullptr || existing == nullptr) {
        if (matching != nullptr) {
            CFRelease(matching);
        }
        return kIOReturnBadArgument;
    }
    World &w = TheWorld();
    auto handle = std::make_shared<Handle>();
    handle->kind = Handle::kIterator;
    {
        std::lock_guard<std::mutex> lock(w.mutex);
        if (w.driver != nullptr && Matches(matching->name, matching->byName, w.driver)) {
            w.driver->retain();
            handle->services.push_back(w.driver);
        }
    }
    CFRelease(matching);
    *existing = AddHandle(handle);
    return kIOReturnSuccess;
}

io_service_t IOServiceGetMatchingService(mach_port_t mainPort, CFDictionaryRef matching)
{
    io_iterator_t iterator = IO_OBJECT_NULL;
    if (IOServiceGetMatchingServices(mainPort, matching, &iterator) != kIOReturnSuccess) {
        return IO_OBJECT_NULL;
    }
    io_service_t service = IOIteratorNext(iterator);
    IOObjectRelease(iterator);
    return service;
}

kern_return_t IOServiceAddMatchingNotification(IONotificationPortRef notifyPort, const io_name_t notificationType,
                                               CFDictionaryRef matching, IOServiceMatchingCallback callback,
                                               void *refCon, io_iterator_t *notification)
{
    bool first = strcmp(notificationType, kIOFirstMatchNotification) == 0 ||
                 strcmp(notificationType, kIOMatchedNotification) == 0 ||
                 strcmp(notificationType, kIOPublishNotification) == 0 ||
                 strcmp(notificationType, kIOFirstPublishNotification) == 0;
    bool terminated = strcmp(notificationType, kIOTerminatedNotification) == 0;
    if (notifyPort == nullptr || matching == nullptr || callback == nullptr || notification == nullptr ||
        (!first && !terminated)) {
        if (matching != nullptr) {
            CFRelease(matching);
        }
        return kIOReturnBadArgument;
    }
    auto handle = std::make_shared<Handle>();
    handle->kind = Handle::kIterator;
    handle->notification = true;
    handle->terminations = terminated;
    handle->name = matching->name;
    handle->byName = matching->byName;
    handle->port = notifyPort->port;
    handle->callback = callback;
    handle->refcon = refCon;
    CFRelease(matching);
    World &w = TheWorld();
    {
        // Services that already match are in the iterator at once (the caller iterates to arm it).
        std::lock_guard<std::mutex> lock(w.mutex);
        if (first && w.driver != nullptr && Matches(handle->name, handle->byName, w.driver)) {
            w.driver->retain();
            handle->services.push_back(w.driver);
        }
    }
    *notification = AddHandle(handle);
    return kIOReturnSuccess;
}

io_object_t IOIteratorNext(io_iterator_t iterator)
{
    std::shared_ptr<Handle> handle = FindHandle(iterator);
    if (handle == nullptr || handle->kind != Handle::kIterator) {
        return IO_OBJECT_NULL;
    }
    auto service = std::make_shared<Handle>();
    service->kind = Handle::kService;
    {
        std::lock_guard<std::mutex> lock(TheWorld().mutex);
        if (handle->next >= handle->services.size()) {
            return IO_OBJECT_NULL;
        }
        service->service = handle->services[handle->next++];
    }
    service->service->retain();
    return AddHandle(service);
}

kern_return_t IOObjectRelease(io_object_t object)
{
    std::shared_ptr<Handle> handle;
    {
        World &w = TheWorld();
        std::lock_guard<std::mutex> lock(w.mutex);
        auto it = w.handles.find(object);
        if (it == w.handles.end() || it->second->kind == Handle::kConnection) {
            return kIOReturnBadArgument;
        }
        handle = it->second;
        w.handles.erase(it);
    }
    OSSafeReleaseNULL(handle->service);
    for (IOService *service : handle->services) {
        service->release();
    }
    return kIOReturnSuccess;
}

namespace {

// A property is a number or a string.
struct RegistryValue {
    RegistryValue(int64_t number) : number(number) {}
    RegistryValue(std::string string) : isString(true), string(std::move(string)) {}
    bool isString = false;
    int64_t number = 0;
    std::string string;
};
using RegistryTable = std::map<std::string, RegistryValue>;

// A string descriptor's text (UTF-16LE; the gadget's are ASCII), or empty.
std::string DescriptorString(VirtualGadgetZero *gadget, uint8_t index)
{
    std::vector<uint8_t> d = index != 0 ? gadget->Descriptor(kIOUSBDescriptorTypeString, index) : std::vector<uint8_t>();
    std::string text;
    for (size_t i = 2; i + 1 < d.size() && i + 1 < d[0]; i += 2) {
        text.push_back(static_cast<char>(d[i]));
    }
    return text;
}

RegistryTable DeviceTable(HostUSBDeviceState *state)
{
    std::vector<uint8_t> d = state->gadget->DeviceDescriptor();
    RegistryTable table = { { "idVendor", d[8] | d[9] << 8 }, { "idProduct", d[10] | d[11] << 8 },
                            { "bcdDevice", d[12] | d[13] << 8 } };
    // IOUSBHostDevice publishes the strings its device descriptor names (IOKit/usb/USB.h's keys).
    const std::pair<const char *, uint8_t> strings[] = {
        { "USB Vendor Name", d[14] }, { "USB Product Name", d[15] }, { "USB Serial Number", d[16] } };
    for (const auto &[key, index] : strings) {
        std::string text = DescriptorString(state->gadget, index);
        if (!text.empty()) {
            table.emplace(key, RegistryValue(text));
        }
    }
    return table;
}

RegistryTable InterfaceTable(IOUSBHostInterface *interface)
{
    // IOUSBHostInterface repeats its device's ids next to its own, for matching.
    RegistryTable table;
    for (auto &[key, value] : DeviceTable(interface->HostDeviceState())) {
        if (!value.isString) {
            table.emplace(key, value);
        }
    }
    std::vector<uint8_t> configuration = interface->HostDeviceState()->gadget->ConfigurationDescriptor();
    table.emplace("bConfigurationValue", configuration[5]);
    table.emplace("bInterfaceNumber", interface->HostInterfaceNumber());
    return table;
}

// The property tables from the service up the service plane: a driver matched on an interface
// holds its personality's match keys, the interface and the device their descriptors' fields. A
// terminated service, or one whose device is gone, has left the plane: it keeps only its own.
std::vector<RegistryTable> RegistryPath(IOService *service, bool parents)
{
    std::vector<RegistryTable> path;
    auto *device = OSDynamicCast(IOUSBHostDevice, service);
    auto *interface = OSDynamicCast(IOUSBHostInterface, service);
    if (device == nullptr && interface == nullptr) {
        interface = OSDynamicCast(IOUSBHostInterface, service->GetProvider());
        const HostPersonality *personality = service->HostState()->personality;
        if (interface == nullptr || personality == nullptr) {
            return path;
        }
        path.push_back({ { "idVendor", personality->idVendor },
                         { "idProduct", personality->idProduct },
                         { "bInterfaceNumber", personality->bInterfaceNumber },
                         { "bConfigurationValue", personality->bConfigurationValue } });
        if (!parents || Terminated(service)) {
            return path;
        }
    }
    HostUSBDeviceState *state = device != nullptr ? device->HostDeviceState() : interface->HostDeviceState();
    if (interface != nullptr) {
        path.push_back(InterfaceTable(interface));
        if (!parents || !state->attached) {
            return path;
        }
    }
    path.push_back(DeviceTable(state));
    return path;
}

} // namespace

CFTypeRef IORegistryEntrySearchCFProperty(io_registry_entry_t entry, const io_name_t plane, CFStringRef key,
                                          CFAllocatorRef, IOOptionBits options)
{
    std::shared_ptr<Handle> handle = FindHandle(entry);
    if (handle == nullptr || handle->kind != Handle::kService || plane == nullptr || key == nullptr ||
        strcmp(plane, kIOServicePlane) != 0) {
        return nullptr;
    }
    // The host's services have no children: a recursive search only goes up, and only if asked.
    bool parents = (options & kIORegistryIterateRecursively) != 0 && (options & kIORegistryIterateParents) != 0;
    for (const RegistryTable &table : RegistryPath(handle->service, parents)) {
        auto found = table.find(key->value);
        if (found != table.end()) {
            if (found->second.isString) {
                return new __CFString(found->second.string, false);
            }
            return new __CFNumber(found->second.number);
        }
    }
    return nullptr;
}

kern_return_t IOServiceOpen(io_service_t service, task_port_t, uint32_t type, io_connect_t *connect)
{
    std::shared_ptr<Handle> handle = FindHandle(service);
    if (handle == nullptr || handle->kind != Handle::kService || connect == nullptr) {
        return kIOReturnBadArgument;
    }
    IOService *driver = handle->service;
    if (Terminated(driver)) {
        return kIOReturnNoDevice;
    }
    IOUserClient *client = nullptr;
    kern_return_t ret = kIOReturnNoDevice;
    driver->HostDefaultQueue()->HostQueue()->Sync([&] {
        if (!Terminated(driver)) {
            ret = driver->NewUserClient(type, &client);
        }
    });
    if (ret != kIOReturnSuccess) {
        return ret;
    }
    auto connection = std::make_shared<Connection>();
    connection->client = client;
    driver->retain();
    connection->driver = driver;
    auto entry = std::make_shared<Handle>();
    entry->kind = Handle::kConnection;
    entry->connection = connection;
    gHostLive.connections++;
    {
        std::lock_guard<std::mutex> lock(TheWorld().mutex);
        TheWorld().live.push_back(connection);
    }
    *connect = AddHandle(entry);
    return kIOReturnSuccess;
}

kern_return_t IOServiceClose(io_connect_t connect)
{
    std::shared_ptr<Connection> connection;
    World &w = TheWorld();
    {
        std::lock_guard<std::mutex> lock(w.mutex);
        auto it = w.handles.find(connect);
        if (it == w.handles.end() || it->second->kind != Handle::kConnection) {
            return kIOReturnBadArgument;
        }
        connection = it->second->connection;
        w.handles.erase(it);
    }
    // As on macOS, closing only asks for the termination: the user client stops later, and the
    // device cannot be opened again until it has (the dext's stopped notice says when).
    w.terminations.Async([connection] { Terminate(connection); });
    return kIOReturnSuccess;
}

kern_return_t IOConnectCallAsyncMethod(mach_port_t connection, uint32_t selector, mach_port_t wake_port,
                                       uint64_t *reference, uint32_t referenceCnt, const uint64_t *input,
                                       uint32_t inputCnt, const void *inputStruct, size_t inputStructCnt,
                                       uint64_t *output, uint32_t *outputCnt, void *outputStruct,
                                       size_t *outputStructCnt)
{
    std::shared_ptr<Connection> conn = FindConnection(connection);
    if (conn == nullptr) {
        return kIOReturnBadArgument;
    }
    // What MIG and the kernel refuse before the dext sees anything.
    uint32_t scalarOutputCount = outputCnt != nullptr ? *outputCnt : 0;
    size_t structOutputSize = outputStructCnt != nullptr ? *outputStructCnt : 0;
    if (inputCnt > kIOUserClientScalarArrayCountMax || (inputCnt > 0 && input == nullptr) ||
        (inputStructCnt > 0 && inputStruct == nullptr) || (structOutputSize > 0 && outputStruct == nullptr) ||
        (scalarOutputCount > 0 && output == nullptr)) {
        return kIOReturnBadArgument;
    }
    if (scalarOutputCount > kIOUserClientScalarArrayCountMax) {
        scalarOutputCount = kIOUserClientScalarArrayCountMax;
    }
    if (wake_port != MACH_PORT_NULL &&
        (reference == nullptr || referenceCnt < kIOAsyncCalloutCount || referenceCnt > kOSAsyncRef64Count)) {
        return kIOReturnBadArgument;
    }

    IOUserClientMethodArguments args;
    memset(&args, 0, sizeof(args));
    uint64_t scalarOutput[kIOUserClientScalarArrayCountMax] = {};
    args.version = kIOUserClientMethodArgumentsCurrentVersion;
    args.selector = selector;
    args.scalarInput = input;
    args.scalarInputCount = inputCnt;
    args.scalarOutput = scalarOutput;
    args.scalarOutputCount = scalarOutputCount;
    args.structureOutputMaximumSize = structOutputSize;

    // The 4 KiB rule: up to 4096 bytes travel by value (OSData), more as a memory descriptor of
    // the caller's memory (input: the dext reads it; output: the dext's device writes it).
    constexpr size_t kInband = 4096;
    kern_return_t ret = kIOReturnSuccess;
    if (inputStructCnt > kInband) {
        args.structureInputDescriptor = IOMemoryDescriptor::HostWithAddress(const_cast<void *>(inputStruct),
                                                                            inputStructCnt, kIOMemoryDirectionOut);
    } else if (inputStructCnt > 0) {
        args.structureInput = OSData::withBytes(inputStruct, inputStructCnt);
    }
    if (structOutputSize > kInband) {
        args.structureOutputDescriptor =
            IOMemoryDescriptor::HostWithAddress(outputStruct, structOutputSize, kIOMemoryDirectionIn);
    }
    if (wake_port != MACH_PORT_NULL) {
        ret = OSAction::Create(conn->client, IOUserClient_AsyncCompletion_ID, IOUserClient_AsyncCompletion_ID,
                               sizeof(HostAsyncReference), &args.completion);
        if (ret == kIOReturnSuccess) {
            auto *ref = static_cast<HostAsyncReference *>(args.completion->GetReference());
            ref->wakePort = wake_port;
            ref->referenceCount = referenceCnt;
            memcpy(ref->reference, reference, referenceCnt * sizeof(uint64_t));
        }
    }

    if (ret == kIOReturnSuccess) {
        ret = OnClientQueue(conn, [&] { return conn->client->ExternalMethod(selector, &args, nullptr, nullptr, nullptr); });
    }

    if (ret == kIOReturnSuccess) {
        if (args.structureOutput != nullptr &&
            (args.structureOutputDescriptor != nullptr || args.structureOutput->getLength() > structOutputSize)) {
            ret = kIOReturnBadArgument;
        } else if (args.structureOutput != nullptr) {
            size_t length = args.structureOutput->getLength();
            if (length > 0) {
                memcpy(outputStruct, args.structureOutput->getBytesNoCopy(), length);
            }
            if (outputStructCnt != nullptr) {
                *outputStructCnt = length;
            }
        } else if (args.structureOutputDescriptor == nullptr && outputStructCnt != nullptr) {
            *outputStructCnt = 0;
        }
    }
    if (ret == kIOReturnSuccess && outputCnt != nullptr) {
        uint32_t count = std::min(args.scalarOutputCount, scalarOutputCount);
        if (count > 0) {
            memcpy(output, scalarOutput, count * sizeof(uint64_t));
        }
        *outputCnt = count;
    }
    // The kernel's references end with the call; the dext retained what it keeps.
    OSSafeReleaseNULL(args.structureOutput);
    OSSafeReleaseNULL(args.structureInput);
    OSSafeReleaseNULL(args.structureInputDescriptor);
    OSSafeReleaseNULL(args.structureOutputDescriptor);
    OSSafeReleaseNULL(args.completion);
    return ret;
}

kern_return_t IOConnectCallMethod(mach_port_t connection, uint32_t selector, const uint64_t *input, uint32_t inputCnt,
                                  const void *inputStruct, size_t inputStructCnt, uint64_t *output,
                                  uint32_t *outputCnt, void *outputStruct, size_t *outputStructCnt)
{
    return IOConnectCallAsyncMethod(connection, selector, MACH_PORT_NULL, nullptr, 0, input, inputCnt, inputStruct,
                                    inputStructCnt, output, outputCnt, outputStruct, outputStructCnt);
}

kern_return_t IOConnectCallStructMethod(mach_port_t connection, uint32_t selector, const void *inputStruct,
                                        size_t inputStructCnt, void *outputStruct, size_t *outputStructCnt)
{
    return IOConnectCallMethod(connection, selector, nullptr, 0, inputStruct, inputStructCnt, nullptr, nullptr,
                               outputStruct, outputStructCnt);
}

kern_return_t IOConnectCallAsyncStructMethod(mach_port_t connection, uint32_t selector, mach_port_t wake_port,
                                             uint64_t *reference, uint32_t referenceCnt, const void *inputStruct,
                                             size_t inputStructCnt, void *outputStruct, size_t *outputStructCnt)
{
    return IOConnectCallAsyncMethod(connection, selector, wake_port, reference, referenceCnt, nullptr, 0, inputStruct,
                                    inputStructCnt, nullptr, nullptr, outputStruct, outputStructCnt);
}

kern_return_t IOConnectCallScalarMethod(mach_port_t connection, uint32_t selector, const uint64_t *input,
                                        uint32_t inputCnt, uint64_t *output, uint32_t *outputCnt)
{
    return IOConnectCallMethod(connection, selector, input, inputCnt, nullptr, 0, output, outputCnt, nullptr, nullptr);
}

kern_return_t IOConnectCallAsyncScalarMethod(mach_port_t connection, uint32_t selector, mach_port_t wake_port,
                                             uint64_t *reference, uint32_t referenceCnt, const uint64_t *input,
                                             uint32_t inputCnt, uint64_t *output, uint32_t *outputCnt)
{
    return IOConnectCallAsyncMethod(connection, selector, wake_port, reference, referenceCnt, input, inputCnt,
                                    nullptr, 0, output, outputCnt, nullptr, nullptr);
}

kern_return_t IOConnectMapMemory64(io_connect_t connect, uint32_t memoryType, task_port_t,
                                   mach_vm_address_t *atAddress, mach_vm_size_t *ofSize, IOOptionBits options)
{
    std::shared_ptr<Connection> conn = FindConnection(connect);
    if (conn == nullptr || atAddress == nullptr || ofSize == nullptr) {
        return kIOReturnBadArgument;
    }
    // A caller-chosen address is not offered by the host runtime.
    if ((options & kIOMapAnywhere) == 0) {
        return kIOReturnUnsupported;
    }
    IOMemoryDescriptor *memory = nullptr;
    uint64_t memoryOptions = 0;
    kern_return_t ret = OnClientQueue(conn, [&] {
        return conn->client->CopyClientMemoryForType(memoryType, &memoryOptions, &memory);
    });
    if (ret != kIOReturnSuccess) {
        return ret;
    }
    if (memory == nullptr) {
        return kIOReturnError;
    }
    if (memory->HostFD() < 0) {
        memory->release();
        return kIOReturnUnsupported;
    }

    std::lock_guard<std::mutex> lock(conn->mutex);
    for (Mapping &mapping : conn->mappings) {
        if (mapping.memory == memory) {
            mapping.count++;
            memory->release();
            *atAddress = reinterpret_cast<mach_vm_address_t>(mapping.address);
            *ofSize = memory->HostLength();
            return kIOReturnSuccess;
        }
    }
    bool readOnly = (memoryOptions & kIOUserClientMemoryReadOnly) != 0 || (options & kIOMapReadOnly) != 0;
    size_t size = PageRound(memory->HostLength());
    void *address = mmap(nullptr, size, readOnly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, memory->HostFD(), 0);
    if (address == MAP_FAILED) {
        memory->release();
        return kIOReturnNoMemory;
    }
    conn->mappings.push_back({ memoryType, memory, address, size, 1 });
    gHostLive.mappings++;
    *atAddress = reinterpret_cast<mach_vm_address_t>(address);
    *ofSize = memory->HostLength();
    return kIOReturnSuccess;
}

kern_return_t IOConnectUnmapMemory64(io_connect_t connect, uint32_t memoryType, task_port_t,
                                     mach_vm_address_t atAddress)
{
    std::shared_ptr<Connection> conn = FindConnection(connect);
    if (conn == nullptr) {
        return kIOReturnBadArgument;
    }
    // The kernel finds the mapping through the descriptor the dext returns for the type again:
    // this is why a memory type must always name the same descriptor.
    IOMemoryDescriptor *memory = nullptr;
    uint64_t memoryOptions = 0;
    kern_return_t ret = OnClientQueue(conn, [&] {
        return conn->client->CopyClientMemoryForType(memoryType, &memoryOptions, &memory);
    });
    if (ret != kIOReturnSuccess) {
        return ret;
    }
    std::lock_guard<std::mutex> lock(conn->mutex);
    ret = kIOReturnBadArgument;
    for (auto it = conn->mappings.begin(); it != conn->mappings.end(); ++it) {
        if (it->memory == memory && reinterpret_cast<mach_vm_address_t>(it->address) == atAddress) {
            if (--it->count == 0) {
                Unmap(*it);
                conn->mappings.erase(it);
            }
            ret = kIOReturnSuccess;
            break;
        }
    }
    OSSafeReleaseNULL(memory);
    return ret;
}

// Notification ports

IONotificationPortRef IONotificationPortCreate(mach_port_t)
{
    World &w = TheWorld();
    auto *port = new IONotificationPort{ 0, nullptr };
    std::lock_guard<std::mutex> lock(w.mutex);
    port->port = w.nextHandle++;
    w.ports[port->port] = port;
    gHostLive.notificationPorts++;
    return port;
}

void IONotificationPortDestroy(IONotificationPortRef notify)
{
    if (notify == nullptr) {
        return;
    }
    World &w = TheWorld();
    {
        std::lock_guard<std::mutex> lock(w.mutex);
        w.ports.erase(notify->port);
    }
    if (notify->queue != nullptr) {
        dispatch_release(notify->queue);
    }
    delete notify;
    gHostLive.notificationPorts--;
}

mach_port_t IONotificationPortGetMachPort(IONotificationPortRef notify)
{
    return notify != nullptr ? notify->port : MACH_PORT_NULL;
}

void IONotificationPortSetDispatchQueue(IONotificationPortRef notify, dispatch_queue_t queue)
{
    World &w = TheWorld();
    std::lock_guard<std::mutex> lock(w.mutex);
    if (queue != nullptr) {
        dispatch_retain(queue);
    }
    if (notify->queue != nullptr) {
        dispatch_release(notify->queue);
    }
    notify->queue = queue;
}

namespace {

struct PortMessage {
    mach_port_t port;
    std::function<void()> work;
};

void RunPortMessage(void *context)
{
    std::unique_ptr<PortMessage> message(static_cast<PortMessage *>(context));
    {
        // A message to a port destroyed meanwhile is dropped, as Mach does.
        World &w = TheWorld();
        std::lock_guard<std::mutex> lock(w.mutex);
        if (w.ports.find(message->port) == w.ports.end()) {
            return;
        }
    }
    message->work();
}

// Called with w.mutex held. The work runs on the port's dispatch queue.
void PostToPortLocked(World &w, mach_port_t port, std::function<void()> work)
{
    auto it = w.ports.find(port);
    if (it == w.ports.end() || it->second->queue == nullptr) {
        return;
    }
    dispatch_async_f(it->second->queue, new PortMessage{ port, std::move(work) }, &RunPortMessage);
}

} // namespace

void HostDeliverAsyncCompletion(const HostAsyncReference *reference, IOReturn status, const uint64_t *data,
                                uint32_t count)
{
    std::vector<uint64_t> values(data, data + count);
    HostAsyncReference ref = *reference;
    auto work = [ref, status, values] {
        void *args[kIOUserClientAsyncArgumentsCountMax];
        for (size_t i = 0; i < values.size(); i++) {
            args[i] = reinterpret_cast<void *>(values[i]);
        }
        auto callback = reinterpret_cast<IOAsyncCallback>(ref.reference[kIOAsyncCalloutFuncIndex]);
        if (callback != nullptr) {
            callback(reinterpret_cast<void *>(ref.reference[kIOAsyncCalloutRefconIndex]), status, args,
                     static_cast<uint32_t>(values.size()));
        }
    };
    World &w = TheWorld();
    std::lock_guard<std::mutex> lock(w.mutex);
    PostToPortLocked(w, ref.wakePort, std::move(work));
}

// Test hooks

void DextioHostGadgetSetPattern(int pattern)
{
    TheWorld().gadget.SetPattern(pattern);
}

void DextioHostGadgetInjectStall(uint8_t address)
{
    TheWorld().gadget.InjectStall(address);
}

void DextioHostGadgetInjectTimeout(uint8_t address, uint32_t count)
{
    TheWorld().gadget.InjectTimeout(address, count);
}

void DextioHostGadgetInjectBabble(uint8_t address)
{
    TheWorld().gadget.InjectBabble(address);
}

void DextioHostGadgetSetBus(int bus)
{
    TheWorld().gadget.SetBus(bus == kDextioGadgetBusUnthrottled ? VirtualGadgetZero::Bus::Unthrottled
                                                                : VirtualGadgetZero::Bus::HighSpeed);
}

int DextioHostGadgetBus(void)
{
    return TheWorld().gadget.CurrentBus() == VirtualGadgetZero::Bus::Unthrottled ? kDextioGadgetBusUnthrottled
                                                                                   : kDextioGadgetBusHighSpeed;
}

void DextioHostGadgetInjectControlTimeout(uint32_t count)
{
    TheWorld().gadget.InjectControlTimeout(count);
}

void DextioHostHoldTerminations(int hold)
{
    World &w = TheWorld();
    std::lock_guard<std::mutex> lock(w.holdMutex);
    w.holdTerminations = hold != 0;
    w.holdChanged.notify_all();
}

void DextioHostGadgetDisconnect(void)
{
    World &w = TheWorld();
    std::lock_guard<std::mutex> lock(w.plug);
    if (w.deviceState != nullptr) {
        w.Detach();
    }
}

void DextioHostGadgetConnect(void)
{
    World &w = TheWorld();
    std::lock_guard<std::mutex> lock(w.plug);
    if (w.deviceState == nullptr) {
        w.Attach();
    }
}
