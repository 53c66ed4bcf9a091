// Host runtime: mach absolute time, in ticks of 125/3 ns (24 MHz, as on Apple silicon).
#include <mach/mach_time.h>

#include <chrono>

namespace {

constexpr uint32_t kTimebaseNumer = 125;
constexpr uint32_t kTimebaseDenom = 3;
constexpr kern_return_t kKernInvalidArgument = 4;  // KERN_INVALID_ARGUMENT

} // namespace

extern "C" uint64_t mach_absolute_time(void)
{
    uint64_t ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
    // ns * denom / numer without overflow: split ns into whole and partial multiples of numer.
    return ns / kTimebaseNumer * kTimebaseDenom + ns % kTimebaseNumer * kTimebaseDenom / kTimebaseNumer;
}

extern "C" kern_return_t mach_timebase_info(mach_timebase_info_t info)
{
    if (info == nullptr) {
        return kKernInvalidArgument;
    }
    info->numer = kTimebaseNumer;
    info->denom = kTimebaseDenom;
    return KERN_SUCCESS;
}

