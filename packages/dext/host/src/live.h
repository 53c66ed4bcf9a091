// Host runtime: counters of live objects, read by tests through DextioHostGetLiveCounts.
#pragma once

#include <atomic>
#include <cstdint>

struct HostLiveCounters {
    std::atomic<int64_t> objects{0};
    std::atomic<int64_t> descriptors{0};
    std::atomic<int64_t> actions{0};
    std::atomic<int64_t> mappings{0};
    std::atomic<int64_t> clients{0};
    std::atomic<int64_t> services{0};
    std::atomic<int64_t> queues{0};
    std::atomic<int64_t> connections{0};
    std::atomic<int64_t> notificationPorts{0};
};

extern HostLiveCounters gHostLive;
