// Throughput and IPC messages per transfer over the virtual gadget, the way the addon streams:
// N transfers in flight, every doorbell drains all that completed, each is resubmitted at once.
// The figures measure the host runtime and the dext's bookkeeping, not a USB bus.
#include <sys/resource.h>

#include <chrono>
#include <functional>
#include <vector>

#include "client.h"
#include "harness.h"

namespace {

void Stream(const char *what, uint8_t pipe, uint32_t length, uint32_t inFlight, uint64_t total, bool descriptor)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    std::vector<std::vector<uint8_t>> buffers(inFlight, std::vector<uint8_t>(descriptor ? length : 0));
    // The mapped path queues each batch's resubmissions and flushes once, as the addon does.
    auto submit = [&](uint64_t tag) {
        uint32_t index = static_cast<uint32_t>(tag % inFlight);
        return descriptor ? client.SubmitDescriptor(pipe, buffers[index].data(), length, 0, tag)
                          : client.Queue(pipe, static_cast<uint8_t>(index), length, 0, tag);
    };
    uint64_t submitted = 0;
    uint64_t completed = 0;
    uint64_t bytes = 0;
    struct rusage before;
    getrusage(RUSAGE_SELF, &before);
    auto start = std::chrono::steady_clock::now();
    for (; submitted < inFlight; submitted++) {
        CHECK_EQ(submit(submitted), kIOReturnSuccess);
    }
    CHECK_EQ(client.Flush(), kIOReturnSuccess);
    uint64_t kicksBefore = client.Kicks();
    while (completed < total) {
        std::vector<DextioCompletion> batch = client.TakeAll();
        if (batch.empty()) {
            TestFail(__FILE__, __LINE__, "no completion within 5 s");
            return;
        }
        for (const DextioCompletion &completion : batch) {
            if (completion.status != kIOReturnSuccess || completion.bytes != length) {
                TestFail(__FILE__, __LINE__, "a streamed transfer failed");
                return;
            }
            completed++;
            bytes += completion.bytes;
            if (submitted < total) {
                // Reuse the finished transfer's slot or buffer.
                uint64_t tag = completion.tag + inFlight;
                CHECK_EQ(submit(tag), kIOReturnSuccess);
                submitted++;
            }
        }
        CHECK_EQ(client.Flush(), kIOReturnSuccess);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    struct rusage after;
    getrusage(RUSAGE_SELF, &after);
    // Hand-offs between threads cost context switches; the process's count does not depend on how
    // busy the machine is the way throughput does.
    double switches = static_cast<double>((after.ru_nvcsw - before.ru_nvcsw) + (after.ru_nivcsw - before.ru_nivcsw));
    double cpu = (after.ru_utime.tv_sec - before.ru_utime.tv_sec + after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1e6 +
                 (after.ru_utime.tv_usec - before.ru_utime.tv_usec + after.ru_stime.tv_usec - before.ru_stime.tv_usec);
    // IPC messages: doorbells, and calls (kicks on the mapped path, one per descriptor transfer).
    uint64_t doorbells = client.Ring()->header.doorbellCount;
    uint64_t calls = descriptor ? completed : client.Kicks() - kicksBefore;
    printf("    %s, %s bus: %llu x %u B, %u in flight: %.0f transfers/s, %.1f MB/s, %.3f IPC messages, %.1f context "
           "switches, %.1f us CPU per transfer\n",
           what, DextioHostGadgetBus() == kDextioGadgetBusUnthrottled ? "unthrottled" : "high-speed",
           static_cast<unsigned long long>(total), length, inFlight, completed / seconds, bytes / seconds / 1e6,
           static_cast<double>(doorbells + calls) / completed, switches / completed, cpu / completed);
}

// Both bus models, the default last.
void OnBothBuses(const std::function<void()> &run)
{
    DextioHostGadgetSetBus(kDextioGadgetBusUnthrottled);
    run();
    DextioHostGadgetSetBus(kDextioGadgetBusHighSpeed);
    run();
}

} // namespace

TEST(bench_mapped_in_512)
{
    OnBothBuses([] { Stream("mapped IN", 0x81, 512, 16, 20000, false); });
}

TEST(bench_mapped_in_4096)
{
    OnBothBuses([] { Stream("mapped IN", 0x81, 4096, 16, 20000, false); });
}

TEST(bench_descriptor_in_65536)
{
    OnBothBuses([] { Stream("descriptor IN", 0x81, 65536, 8, 2000, true); });
}
