// Open, close and terminate, with and without transfers in flight; every object released after.
#include <cstring>
#include <vector>

#include "client.h"
#include "harness.h"

namespace {

bool BackTo(const DextioHostLiveCounts &baseline)
{
    return Eventually([&] { return LiveCountsEqual(LiveCounts(), baseline); });
}

void ReportCounts(const char *what, const DextioHostLiveCounts &c)
{
    fprintf(stderr, "    %s: objects %lld descriptors %lld actions %lld mappings %lld clients %lld services %lld "
                    "queues %lld connections %lld ports %lld\n",
            what, (long long)c.objects, (long long)c.descriptors, (long long)c.actions, (long long)c.mappings,
            (long long)c.clients, (long long)c.services, (long long)c.queues, (long long)c.connections,
            (long long)c.notificationPorts);
}

void CheckBackTo(const DextioHostLiveCounts &baseline)
{
    if (!BackTo(baseline)) {
        ReportCounts("baseline", baseline);
        ReportCounts("now", LiveCounts());
        TestFail(__FILE__, __LINE__, "live objects not back to the baseline");
    }
}

} // namespace

TEST(lifecycle_open_close_releases_everything)
{
    DextioHostLiveCounts baseline = SettledCounts();
    {
        TestClient client;
        CHECK_EQ(client.Open(), kIOReturnSuccess);
        CHECK(LiveCounts().clients == baseline.clients + 1);
        for (uint8_t pipe : { 0x01, 0x02, 0x81, 0x82 }) {
            for (uint8_t slot = 0; slot < kDextioSlotsPerPipe; slot++) {
                CHECK(client.Slot(pipe, slot) != nullptr);
            }
        }
        DextioCompletion completion;
        CHECK_EQ(client.SubmitSlot(0x81, 0, 512, 0, 1), kIOReturnSuccess);
        CHECK(client.Wait(1, &completion));
        CHECK_EQ(client.Close(), kIOReturnSuccess);
    }
    CheckBackTo(baseline);
}

TEST(lifecycle_exclusive_open)
{
    TestClient first;
    TestClient second;
    CHECK_EQ(first.Open(), kIOReturnSuccess);
    CHECK_EQ(second.Open(), kIOReturnExclusiveAccess);
    // Close waits for the dext's stopped notice, after which the device is free again.
    CHECK_EQ(first.Close(), kIOReturnSuccess);
    CHECK_EQ(second.Open(), kIOReturnSuccess);
    io_service_t service = FindDextService();
    io_connect_t connect = IO_OBJECT_NULL;
    CHECK_EQ(IOServiceOpen(service, mach_task_self(), 0, &connect), kIOReturnExclusiveAccess);
    IOObjectRelease(service);
}

TEST(lifecycle_close_is_asynchronous)
{
    DextioHostLiveCounts baseline = SettledCounts();
    std::vector<uint8_t> big(100000);
    {
        TestClient client;
        CHECK_EQ(client.Open(), kIOReturnSuccess);
        CHECK(client.Slot(0x81, 0) != nullptr);
        DextioHostGadgetInjectTimeout(0x81, 1);
        CHECK_EQ(client.SubmitDescriptor(0x81, big.data(), big.size(), 60000, 1), kIOReturnSuccess);
        // As on macOS, IOServiceClose returns before the user client has stopped: hold the
        // termination to look into that window.
        DextioHostHoldTerminations(1);
        io_connect_t closed = client.connect;
        CHECK_EQ(client.CloseConnection(), kIOReturnSuccess);
        // The handle is gone at once; the user client, its mappings and the app's memory the dext
        // holds are not; and the device is still held, so a quick reopen is refused.
        CHECK_EQ(IOConnectCallScalarMethod(closed, kDextioSelectorGetDeviceInfo, nullptr, 0, nullptr, nullptr),
                 kIOReturnBadArgument);
        CHECK_EQ(LiveCounts().clients, baseline.clients + 1);
        CHECK(LiveCounts().mappings > baseline.mappings);
        CHECK(LiveCounts().descriptors > baseline.descriptors);
        TestClient quick;
        CHECK_EQ(quick.Open(), kIOReturnExclusiveAccess);
        CHECK(!client.WaitStopped(100));
        // Once the termination runs, the dext aborts the transfer, releases the app's memory,
        // frees the device and says so, last.
        DextioHostHoldTerminations(0);
        CHECK(client.WaitStopped());
        CHECK_EQ(quick.Open(), kIOReturnSuccess);
        CHECK_EQ(quick.Close(), kIOReturnSuccess);
        CHECK_EQ(client.Close(), kIOReturnSuccess);
    }
    CheckBackTo(baseline);
}

TEST(lifecycle_stopped_notice_on_unplug)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    CHECK_EQ(client.SubmitSlot(0x82, 0, 512, 0, 1), kIOReturnSuccess);
    DextioHostGadgetDisconnect();
    DextioCompletion completion;
    CHECK(client.Wait(1, &completion));
    CHECK_EQ(completion.status, kIOReturnNoDevice);
    CHECK(client.WaitStopped());
    CHECK_EQ(client.Close(), kIOReturnSuccess);
    DextioHostGadgetConnect();
}

TEST(lifecycle_bad_open_type)
{
    io_service_t service = FindDextService();
    io_connect_t connect = IO_OBJECT_NULL;
    CHECK_EQ(IOServiceOpen(service, mach_task_self(), 1, &connect), kIOReturnBadArgument);
    IOObjectRelease(service);
}

TEST(lifecycle_close_with_requests_in_flight)
{
    DextioHostLiveCounts baseline = SettledCounts();
    std::vector<uint8_t> big(100000);
    {
        TestClient client;
        CHECK_EQ(client.Open(), kIOReturnSuccess);
        for (uint8_t slot = 0; slot < kDextioSlotsPerPipe; slot++) {
            CHECK_EQ(client.SubmitSlot(0x82, slot, 512, 0, slot), kIOReturnSuccess);
        }
        CHECK_EQ(client.SubmitDescriptor(0x82, big.data(), big.size(), 0, 100), kIOReturnSuccess);
        DextioHostGadgetInjectTimeout(0x81, 2);
        CHECK_EQ(client.SubmitSlot(0x81, 0, 512, 60000, 200), kIOReturnSuccess);
        CHECK_EQ(client.SubmitDescriptor(0x81, big.data(), big.size(), 60000, 201), kIOReturnSuccess);
        CHECK(client.Slot(0x81, 0) != nullptr);
        CHECK_EQ(client.Close(), kIOReturnSuccess);
    }
    CheckBackTo(baseline);
    // The device is usable again.
    TestClient again;
    CHECK_EQ(again.Open(), kIOReturnSuccess);
    DextioCompletion completion;
    CHECK_EQ(again.SubmitSlot(0x81, 0, 512, 0, 1), kIOReturnSuccess);
    CHECK(again.Wait(1, &completion));
    CHECK_EQ(completion.status, kIOReturnSuccess);
}

TEST(lifecycle_port_destroyed_before_close)
{
    DextioHostLiveCounts baseline = SettledCounts();
    {
        TestClient client;
        CHECK_EQ(client.Open(), kIOReturnSuccess);
        CHECK_EQ(client.SubmitSlot(0x82, 0, 512, 0, 1), kIOReturnSuccess);
        IONotificationPortDestroy(client.port);
        client.port = nullptr;
        uint64_t pipe = 0x82;
        CHECK_EQ(client.Call(kDextioSelectorAbortPipe, &pipe, 1), kIOReturnSuccess);  // its doorbell goes nowhere
        CHECK(Eventually([&] { return client.Ring()->header.completionCount == 1; }));
        // Its stopped notice goes nowhere either: close without waiting for it.
        CHECK_EQ(client.Close(false), kIOReturnSuccess);
        CHECK_EQ(client.Close(), kIOReturnSuccess);
    }
    CheckBackTo(baseline);
}

TEST(lifecycle_terminate_with_requests_in_flight)
{
    DextioHostLiveCounts baseline = SettledCounts();
    std::vector<uint8_t> big(50000);
    {
        TestClient client;
        CHECK_EQ(client.Open(), kIOReturnSuccess);
        for (uint8_t slot = 0; slot < 4; slot++) {
            CHECK_EQ(client.SubmitSlot(0x82, slot, 512, 0, slot), kIOReturnSuccess);
        }
        CHECK_EQ(client.SubmitDescriptor(0x82, big.data(), big.size(), 0, 10), kIOReturnSuccess);

        DextioHostGadgetDisconnect();  // unplug: the dext is stopped under the open connection
        DextioCompletion completion;
        for (uint64_t tag : { 0, 1, 2, 3, 10 }) {
            CHECK(client.Wait(tag, &completion));
            CHECK_EQ(completion.status, kIOReturnNoDevice);
        }
        CHECK_EQ(client.SubmitSlot(0x82, 0, 512, 0, 20), kIOReturnNoDevice);
        CHECK_EQ(client.Call(kDextioSelectorGetDeviceInfo, nullptr, 0), kIOReturnNoDevice);
        CHECK(FindDextService() == IO_OBJECT_NULL);
        CHECK_EQ(client.Close(), kIOReturnSuccess);
    }
    DextioHostGadgetConnect();
    CheckBackTo(baseline);
    TestClient again;
    CHECK_EQ(again.Open(), kIOReturnSuccess);
    DextioCompletion completion;
    CHECK_EQ(again.SubmitSlot(0x81, 0, 512, 0, 1), kIOReturnSuccess);
    CHECK(again.Wait(1, &completion));
    CHECK_EQ(completion.status, kIOReturnSuccess);
}

TEST(lifecycle_terminate_with_stale_service_handle)
{
    io_service_t service = FindDextService();
    CHECK(service != IO_OBJECT_NULL);
    DextioHostGadgetDisconnect();
    io_connect_t connect = IO_OBJECT_NULL;
    CHECK_EQ(IOServiceOpen(service, mach_task_self(), 0, &connect), kIOReturnNoDevice);
    CHECK_EQ(IOObjectRelease(service), kIOReturnSuccess);
    DextioHostGadgetConnect();
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
}

namespace {

// A numeric registry property as a client reads it: -1 if absent or not an SInt32.
int64_t RegistryNumber(io_service_t service, CFStringRef key, IOOptionBits options)
{
    CFTypeRef property = IORegistryEntrySearchCFProperty(service, kIOServicePlane, key, kCFAllocatorDefault, options);
    if (property == nullptr) {
        return -1;
    }
    int32_t value = 0;
    bool ok = CFGetTypeID(property) == CFNumberGetTypeID() &&
              CFNumberGetValue(static_cast<CFNumberRef>(property), kCFNumberSInt32Type, &value);
    CFRelease(property);
    return ok ? value : -1;
}

} // namespace

TEST(lifecycle_registry_properties_without_opening)
{
    constexpr IOOptionBits kUp = kIORegistryIterateRecursively | kIORegistryIterateParents;
    io_service_t service = FindDextService();
    CHECK(service != IO_OBJECT_NULL);
    // The driver's own table has its personality's match keys; bcdDevice is the device's.
    CHECK_EQ(RegistryNumber(service, CFSTR("idVendor"), 0), 0x0525);
    CHECK_EQ(RegistryNumber(service, CFSTR("bcdDevice"), 0), -1);
    CHECK_EQ(RegistryNumber(service, CFSTR("bcdDevice"), kIORegistryIterateParents), -1);
    CHECK_EQ(RegistryNumber(service, CFSTR("idVendor"), kUp), 0x0525);
    CHECK_EQ(RegistryNumber(service, CFSTR("idProduct"), kUp), 0xa4a0);
    CHECK_EQ(RegistryNumber(service, CFSTR("bcdDevice"), kUp), 0x0100);
    CHECK_EQ(RegistryNumber(service, CFSTR("bInterfaceNumber"), kUp), 0);
    CHECK_EQ(RegistryNumber(service, CFSTR("NoSuchKey"), kUp), -1);
    CHECK(IORegistryEntrySearchCFProperty(service, "IOUSB", CFSTR("idVendor"), kCFAllocatorDefault, kUp) == nullptr);
    CHECK(CFSTR("idVendor") == CFSTR("idVendor"));

    // The same while a client holds the device, and the ids convert only where they fit.
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    CFTypeRef vendor = IORegistryEntrySearchCFProperty(service, kIOServicePlane, CFSTR("idVendor"), kCFAllocatorDefault,
                                                       kUp);
    CHECK(vendor != nullptr);
    int8_t narrow = 0;
    int64_t wide = 0;
    CHECK(!CFNumberGetValue(static_cast<CFNumberRef>(vendor), kCFNumberSInt8Type, &narrow));
    CHECK(CFNumberGetValue(static_cast<CFNumberRef>(vendor), kCFNumberSInt64Type, &wide));
    CHECK_EQ(wide, 0x0525);
    CFRelease(vendor);
    CHECK_EQ(client.Close(), kIOReturnSuccess);

    // Unplugged: the stale handle's service has left the plane; no service matches any more.
    DextioHostGadgetDisconnect();
    CHECK_EQ(RegistryNumber(service, CFSTR("bcdDevice"), kUp), -1);
    CHECK(FindDextService() == IO_OBJECT_NULL);
    CHECK_EQ(IOObjectRelease(service), kIOReturnSuccess);
    DextioHostGadgetConnect();
    service = FindDextService();
    CHECK_EQ(RegistryNumber(service, CFSTR("bcdDevice"), kUp), 0x0100);
    CHECK_EQ(IOObjectRelease(service), kIOReturnSuccess);
}

namespace {

struct HotplugLog {
    std::mutex mutex;
    int arrived = 0;
    int left = 0;
};

void Drain(io_iterator_t iterator, int *count)
{
    io_object_t service;
    while ((service = IOIteratorNext(iterator)) != IO_OBJECT_NULL) {
        (*count)++;
        IOObjectRelease(service);
    }
}

void Arrived(void *refcon, io_iterator_t iterator)
{
    auto *log = static_cast<HotplugLog *>(refcon);
    std::lock_guard<std::mutex> lock(log->mutex);
    Drain(iterator, &log->arrived);
}

void Left(void *refcon, io_iterator_t iterator)
{
    auto *log = static_cast<HotplugLog *>(refcon);
    std::lock_guard<std::mutex> lock(log->mutex);
    Drain(iterator, &log->left);
}

} // namespace

TEST(lifecycle_hotplug_notifications)
{
    HotplugLog log;
    IONotificationPortRef port = IONotificationPortCreate(kIOMainPortDefault);
    dispatch_queue_t queue = dispatch_queue_create("hotplug", DISPATCH_QUEUE_SERIAL);
    IONotificationPortSetDispatchQueue(port, queue);
    io_iterator_t arrivals = IO_OBJECT_NULL;
    io_iterator_t departures = IO_OBJECT_NULL;
    CHECK_EQ(IOServiceAddMatchingNotification(port, kIOFirstMatchNotification, IOServiceNameMatching("DextioDriver"),
                                              &Arrived, &log, &arrivals),
             kIOReturnSuccess);
    CHECK_EQ(IOServiceAddMatchingNotification(port, kIOTerminatedNotification, IOServiceNameMatching("DextioDriver"),
                                              &Left, &log, &departures),
             kIOReturnSuccess);
    CHECK_EQ(IOServiceAddMatchingNotification(port, "NoSuchNotification", IOServiceNameMatching("DextioDriver"),
                                              &Left, &log, &departures),
             kIOReturnBadArgument);
    {
        // Arm: the device present now is in the iterator already.
        std::lock_guard<std::mutex> lock(log.mutex);
        Drain(arrivals, &log.arrived);
        Drain(departures, &log.left);
    }
    CHECK_EQ(log.arrived, 1);
    DextioHostGadgetDisconnect();
    CHECK(Eventually([&] { std::lock_guard<std::mutex> lock(log.mutex); return log.left == 1; }));
    DextioHostGadgetConnect();
    CHECK(Eventually([&] { std::lock_guard<std::mutex> lock(log.mutex); return log.arrived == 2; }));
    CHECK_EQ(IOObjectRelease(arrivals), kIOReturnSuccess);
    CHECK_EQ(IOObjectRelease(departures), kIOReturnSuccess);
    IONotificationPortDestroy(port);
    dispatch_release(queue);
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
}
