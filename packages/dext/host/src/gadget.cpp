#include "gadget.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#ifdef __linux__
#include <pthread.h>
#include <sys/prctl.h>
#endif

namespace {

constexpr uint16_t kVendor = 0x0525;
constexpr uint16_t kProduct = 0xa4a0;
constexpr uint16_t kBulkMaxPacket = 512;
constexpr size_t kLoopbackDepth = 64;     // like f_loopback's qlen: further OUT transfers wait
constexpr size_t kControlBufferSize = 4096;
// USB 2.0 high speed: 8000 microframes a second, at most 13 bulk packets of 512 bytes in each.
constexpr auto kMicroframe = std::chrono::microseconds(125);
constexpr double kPacketsPerMicroframe = 13;
// The budget a quiet bus saves up: a few microframes' worth, as a host controller's schedule does.
constexpr double kPacketBudget = 8 * kPacketsPerMicroframe;

enum : uint8_t {
    kSourceIn = 0x81,
    kSinkOut = 0x01,
    kLoopbackIn = 0x82,
    kLoopbackOut = 0x02,
};

void PutEndpoint(std::vector<uint8_t> &d, uint8_t address)
{
    d.insert(d.end(), { 7, 5, address, 2, kBulkMaxPacket & 0xff, kBulkMaxPacket >> 8, 0 });
}


} // namespace

VirtualGadgetZero::VirtualGadgetZero() : controlBuffer(kControlBufferSize, 0)
{
    const char *model = getenv("DEXTIO_GADGET_BUS");
    if (model != nullptr && strcmp(model, "unthrottled") == 0) {
        bus_ = Bus::Unthrottled;
    }
    packetsAt = Clock::now();
    Connect();
    bus = std::thread([this] {
#ifdef __linux__
        // Wake at the microframe's end, not up to the default 50 us of timer slack later: the
        // model's timing, not the scheduler's, should bound throughput.
        prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
        pthread_setname_np(pthread_self(), "dextio-bus");
#endif
        BusLoop();
    });
}

VirtualGadgetZero::~VirtualGadgetZero()
{
    {
        std::lock_guard<std::mutex> lock(mutex);
        stopping = true;
    }
    busWake.notify_all();
    bus.join();
}

std::vector<uint8_t> VirtualGadgetZero::DeviceDescriptor() const
{
    return { 18, 1, 0x00, 0x02, 0xff, 0, 0, 64, kVendor & 0xff, kVendor >> 8, kProduct & 0xff, kProduct >> 8,
             0x00, 0x01, 1, 2, 3, 1 };
}

std::vector<uint8_t> VirtualGadgetZero::ConfigurationDescriptor() const
{
    std::vector<uint8_t> d = { 9, 2, 0, 0, 1, 1, 0, 0xc0, 1 };
    d.insert(d.end(), { 9, 4, 0, 0, 4, 0xff, 0, 0, 0 });
    PutEndpoint(d, kSourceIn);
    PutEndpoint(d, kSinkOut);
    PutEndpoint(d, kLoopbackIn);
    PutEndpoint(d, kLoopbackOut);
    d.insert(d.end(), { 9, 4, 0, 1, 2, 0xff, 0, 0, 0 });
    PutEndpoint(d, kSourceIn);
    PutEndpoint(d, kSinkOut);
    d[2] = static_cast<uint8_t>(d.size() & 0xff);
    d[3] = static_cast<uint8_t>(d.size() >> 8);
    return d;
}

std::vector<uint8_t> VirtualGadgetZero::Descriptor(uint8_t type, uint8_t index) const
{
    constexpr uint8_t kDevice = 1, kConfiguration = 2, kString = 3;
    // The string indexes the device descriptor names: iManufacturer 1, iProduct 2, iSerialNumber 3.
    static const char *const kStrings[] = { "dextio", "Gadget Zero (virtual)", "dextio-virtual-0001" };
    if (type == kDevice && index == 0) {
        return DeviceDescriptor();
    }
    if (type == kConfiguration && index == 0) {
        return ConfigurationDescriptor();
    }
    if (type != kString) {
        return {};
    }
    if (index == 0) {
        return { 4, kString, 0x09, 0x04 };  // one language: US English
    }
    if (index > std::size(kStrings)) {
        return {};
    }
    std::vector<uint8_t> d = { 2, kString };
    for (const char *c = kStrings[index - 1]; *c != '\0'; ++c) {
        d.push_back(static_cast<uint8_t>(*c));  // UTF-16LE of ASCII
        d.push_back(0);
    }
    d[0] = static_cast<uint8_t>(d.size());
    return d;
}

uint8_t VirtualGadgetZero::AltSetting()
{
    std::lock_guard<std::mutex> lock(mutex);
    return alt;
}

IOReturn VirtualGadgetZero::SetAltSetting(uint8_t newAlt)
{
    if (newAlt > 1) {
        return kUSBHostReturnPipeStalled;  // SET_INTERFACE to a setting that does not exist
    }
    std::vector<Completion> out;
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (!connected) {
            return kIOReturnNoDevice;
        }
        for (Endpoint &ep : endpoints) {
            FailAll(ep, kIOReturnAborted, out);
        }
        alt = newAlt;
        endpoints.clear();
        for (uint8_t address : { kSourceIn, kSinkOut, kLoopbackIn, kLoopbackOut }) {
            if (alt == 0 || address == kSourceIn || address == kSinkOut) {
                Endpoint ep;
                ep.address = address;
                ep.type = 2;
                ep.maxPacketSize = kBulkMaxPacket;
                endpoints.push_back(std::move(ep));
            }
        }
        loopback.clear();
    }
    Run(out);
    return kIOReturnSuccess;
}

bool VirtualGadgetZero::HasEndpoint(uint8_t address, uint8_t *type, uint16_t *maxPacketSize)
{
    std::lock_guard<std::mutex> lock(mutex);
    Endpoint *ep = Find(address);
    if (ep != nullptr) {
        *type = ep->type;
        *maxPacketSize = ep->maxPacketSize;
    }
    return ep != nullptr;
}

VirtualGadgetZero::Endpoint *VirtualGadgetZero::Find(uint8_t address)
{
    for (Endpoint &ep : endpoints) {
        if (ep.address == address) {
            return &ep;
        }
    }
    return nullptr;
}

IOReturn VirtualGadgetZero::Submit(uint8_t address, uint8_t *data, uint32_t length, uint32_t timeoutMs, Done done)
{
    std::vector<Completion> out;
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (!connected) {
            return kIOReturnNoDevice;
        }
        Endpoint *ep = Find(address);
        if (ep == nullptr) {
            return kIOReturnNotFound;
        }
        Pending p{ data, length, timeoutMs != 0, Clock::now() + std::chrono::milliseconds(timeoutMs), false,
                   std::move(done) };
        if (ep->unanswered > 0) {
            ep->unanswered--;
            p.unanswered = true;
        }
        ep->pending.push_back(std::move(p));
        kicked = true;
    }
    // The bus thread serves it: a transfer never completes inside the call that submits it.
    busWake.notify_all();
    return kIOReturnSuccess;
}

void VirtualGadgetZero::SetBus(Bus bus)
{
    {
        std::lock_guard<std::mutex> lock(mutex);
        bus_ = bus;
        packets = 0;
        packetsAt = Clock::now();
        kicked = true;
    }
    busWake.notify_all();
}

VirtualGadgetZero::Bus VirtualGadgetZero::CurrentBus()
{
    std::lock_guard<std::mutex> lock(mutex);
    return bus_;
}

bool VirtualGadgetZero::Afford(Pending &p, uint32_t needed, Clock::time_point now)
{
    if (bus_ == Bus::Unthrottled) {
        return true;
    }
    auto frames = (now - packetsAt) / kMicroframe;
    if (frames > 0) {
        packets = std::min(kPacketBudget, packets + frames * kPacketsPerMicroframe);
        packetsAt += frames * kMicroframe;
    }
    needed -= p.packetsMoved;
    if (packets >= needed) {
        packets -= needed;
        return true;
    }
    // The packets this microframe has left go to this transfer; it completes in a later one, once
    // its last packet has moved (so a large transfer takes its time on the bus, and an abort
    // frees the bus at once).
    auto moved = static_cast<uint32_t>(packets);
    p.packetsMoved += moved;
    packets -= moved;
    starvedUntil = std::min(starvedUntil, packetsAt + kMicroframe);
    return false;
}

void VirtualGadgetZero::Pump(std::vector<Completion> &out)
{
    Clock::time_point now = Clock::now();
    starvedUntil = Clock::time_point::max();
    // Endpoint 0 is a FIFO too: a request the device does not answer holds the ones behind it.
    while (!control.empty() && !control.front().pending.unanswered) {
        uint16_t bytes = 0;
        IOReturn status = Answer(control.front(), &bytes);
        out.push_back({ std::move(control.front().pending.done), status, bytes });
        control.pop_front();
    }
    bool progress = true;
    while (progress) {
        progress = false;
        for (Endpoint &ep : endpoints) {
            if (ep.halted) {
                FailAll(ep, kUSBHostReturnPipeStalled, out);
                continue;
            }
            // A pipe is a FIFO: nothing passes a transfer the device has not answered.
            while (!ep.pending.empty() && !ep.pending.front().unanswered && Ready(ep, ep.pending.front(), now) &&
                   Serve(ep, ep.pending.front(), out)) {
                ep.pending.pop_front();
                progress = true;
                if (ep.halted) {
                    FailAll(ep, kUSBHostReturnPipeStalled, out);
                    break;
                }
            }
        }
    }
}

bool VirtualGadgetZero::Ready(Endpoint &ep, Pending &p, Clock::time_point now)
{
    // The device has nothing to send or no room: no packets move, nothing is charged.
    if ((ep.address == kLoopbackIn && loopback.empty()) || (ep.address == kLoopbackOut && loopback.size() >= kLoopbackDepth)) {
        return false;
    }
    uint32_t needed = std::max<uint32_t>(1, (p.length + ep.maxPacketSize - 1) / ep.maxPacketSize);
    return Afford(p, needed, now);
}

bool VirtualGadgetZero::Serve(Endpoint &ep, Pending &p, std::vector<Completion> &out)
{
    switch (ep.address) {
    case kSourceIn:
        if (ep.babble) {
            ep.babble = false;
            out.push_back({ std::move(p.done), kIOReturnOverrun, p.length });
            return true;
        }
        {
            const uint8_t *packet = PatternPacket(ep);
            for (uint32_t offset = 0; offset < p.length; offset += ep.maxPacketSize) {
                std::memcpy(p.data + offset, packet, std::min<uint32_t>(ep.maxPacketSize, p.length - offset));
            }
        }
        out.push_back({ std::move(p.done), kIOReturnSuccess, p.length });
        return true;
    case kSinkOut: {
        const uint8_t *packet = PatternPacket(ep);
        for (uint32_t offset = 0; offset < p.length; offset += ep.maxPacketSize) {
            if (std::memcmp(p.data + offset, packet, std::min<uint32_t>(ep.maxPacketSize, p.length - offset)) != 0) {
                // f_sourcesink halts the OUT endpoint on bad data; the packets before the bad one
                // were accepted.
                ep.halted = true;
                out.push_back({ std::move(p.done), kUSBHostReturnPipeStalled, offset });
                return true;
            }
        }
        out.push_back({ std::move(p.done), kIOReturnSuccess, p.length });
        return true;
    }
    case kLoopbackOut:
        if (loopback.size() >= kLoopbackDepth) {
            return false;
        }
        loopback.emplace_back(p.data, p.data + p.length);
        out.push_back({ std::move(p.done), kIOReturnSuccess, p.length });
        return true;
    case kLoopbackIn: {
        if (loopback.empty()) {
            return false;
        }
        std::vector<uint8_t> message = std::move(loopback.front());
        loopback.pop_front();
        bool babble = ep.babble || message.size() > p.length;
        ep.babble = false;
        uint32_t bytes = static_cast<uint32_t>(std::min<size_t>(message.size(), p.length));
        if (bytes > 0) {
            std::memcpy(p.data, message.data(), bytes);
        }
        out.push_back({ std::move(p.done), babble ? kIOReturnOverrun : kIOReturnSuccess, bytes });
        return true;
    }
    default:
        return false;
    }
}

// One packet of f_sourcesink's data: pattern 1 is byte i of each packet = i % 63, pattern 0 zeros.
// Whole transfers are built and checked a packet at a time, at memcpy's speed.
const uint8_t *VirtualGadgetZero::PatternPacket(Endpoint &ep)
{
    if (ep.packetPattern != pattern || ep.packet.size() != ep.maxPacketSize) {
        ep.packet.assign(ep.maxPacketSize, 0);
        for (uint16_t i = 0; pattern == 1 && i < ep.maxPacketSize; i++) {
            ep.packet[i] = static_cast<uint8_t>(i % 63);
        }
        ep.packetPattern = pattern;
    }
    return ep.packet.data();
}

void VirtualGadgetZero::FailAll(Endpoint &ep, IOReturn status, std::vector<Completion> &out)
{
    for (Pending &p : ep.pending) {
        out.push_back({ std::move(p.done), status, 0 });
    }
    ep.pending.clear();
}

void VirtualGadgetZero::Run(const std::vector<Completion> &completions)
{
    for (const Completion &c : completions) {
        c.done(c.status, c.bytes);
    }
}

void VirtualGadgetZero::Abort(uint8_t address, IOReturn status)
{
    std::vector<Completion> out;
    {
        std::lock_guard<std::mutex> lock(mutex);
        Endpoint *ep = Find(address);
        if (ep != nullptr) {
            FailAll(*ep, status, out);
        }
    }
    Run(out);
}

IOReturn VirtualGadgetZero::ClearHalt(uint8_t address)
{
    std::vector<Completion> out;
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (!connected) {
            return kIOReturnNoDevice;
        }
        Endpoint *ep = Find(address);
        if (ep == nullptr) {
            return kIOReturnNotFound;
        }
        ep->halted = false;
        Pump(out);
    }
    Run(out);
    return kIOReturnSuccess;
}

IOReturn VirtualGadgetZero::SubmitControl(uint8_t bmRequestType, uint8_t bRequest, uint16_t wValue, uint16_t wIndex,
                                          uint16_t wLength, uint8_t *data, uint32_t timeoutMs, Done done)
{
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (!connected) {
            return kIOReturnNoDevice;
        }
        ControlRequest request{ bmRequestType, bRequest, wValue, wIndex, wLength,
                                Pending{ data, wLength, timeoutMs != 0,
                                         Clock::now() + std::chrono::milliseconds(timeoutMs), false, std::move(done) } };
        if (controlUnanswered > 0) {
            controlUnanswered--;
            request.pending.unanswered = true;
        }
        control.push_back(std::move(request));
        kicked = true;
    }
    busWake.notify_all();
    return kIOReturnSuccess;
}

void VirtualGadgetZero::AbortControl(IOReturn status)
{
    std::vector<Completion> out;
    {
        std::lock_guard<std::mutex> lock(mutex);
        FailControl(status, out);
    }
    Run(out);
}

void VirtualGadgetZero::FailControl(IOReturn status, std::vector<Completion> &out)
{
    for (ControlRequest &request : control) {
        out.push_back({ std::move(request.pending.done), status, 0 });
    }
    control.clear();
}

IOReturn VirtualGadgetZero::Answer(const ControlRequest &request, uint16_t *bytesTransferred)
{
    uint8_t *data = request.pending.data;
    uint16_t wLength = request.wLength;
    *bytesTransferred = 0;
    // GET_DESCRIPTOR from the device, as the composite framework under gadget zero answers it.
    if (request.bmRequestType == 0x80 && request.bRequest == 0x06) {
        std::vector<uint8_t> descriptor =
            Descriptor(static_cast<uint8_t>(request.wValue >> 8), static_cast<uint8_t>(request.wValue & 0xff));
        if (descriptor.empty()) {
            return kUSBHostReturnPipeStalled;
        }
        *bytesTransferred = static_cast<uint16_t>(std::min<size_t>(wLength, descriptor.size()));
        if (*bytesTransferred > 0) {
            std::memcpy(data, descriptor.data(), *bytesTransferred);
        }
        return kIOReturnSuccess;
    }
    // f_sourcesink: vendor requests to the device, wValue and wIndex zero, at most one buffer.
    bool ok = request.wValue == 0 && request.wIndex == 0 && wLength <= controlBuffer.size();
    if (ok && request.bmRequestType == 0x40 && request.bRequest == 0x5b) {
        if (wLength > 0) {
            std::memcpy(controlBuffer.data(), data, wLength);
        }
        *bytesTransferred = wLength;
        return kIOReturnSuccess;
    }
    if (ok && request.bmRequestType == 0xc0 && request.bRequest == 0x5c) {
        if (wLength > 0) {
            std::memcpy(data, controlBuffer.data(), wLength);
        }
        *bytesTransferred = wLength;
        return kIOReturnSuccess;
    }
    return kUSBHostReturnPipeStalled;
}

void VirtualGadgetZero::Disconnect()
{
    std::vector<Completion> out;
    {
        std::lock_guard<std::mutex> lock(mutex);
        connected = false;
        for (Endpoint &ep : endpoints) {
            FailAll(ep, kIOReturnNoDevice, out);
        }
        FailControl(kIOReturnNoDevice, out);
        loopback.clear();
    }
    Run(out);
}

void VirtualGadgetZero::Connect()
{
    {
        std::lock_guard<std::mutex> lock(mutex);
        connected = true;
        pattern = 1;
        controlUnanswered = 0;
        std::fill(controlBuffer.begin(), controlBuffer.end(), 0);
        alt = 1;  // so that SetAltSetting(0) below builds the endpoints
    }
    SetAltSetting(0);
}

bool VirtualGadgetZero::Connected()
{
    std::lock_guard<std::mutex> lock(mutex);
    return connected;
}

void VirtualGadgetZero::SetPattern(int newPattern)
{
    std::lock_guard<std::mutex> lock(mutex);
    pattern = newPattern;
}

void VirtualGadgetZero::InjectStall(uint8_t address)
{
    std::vector<Completion> out;
    {
        std::lock_guard<std::mutex> lock(mutex);
        Endpoint *ep = Find(address);
        if (ep == nullptr) {
            return;
        }
        ep->halted = true;
        Pump(out);
    }
    Run(out);
}

void VirtualGadgetZero::InjectTimeout(uint8_t address, uint32_t count)
{
    std::lock_guard<std::mutex> lock(mutex);
    Endpoint *ep = Find(address);
    if (ep != nullptr) {
        ep->unanswered += count;
    }
}

void VirtualGadgetZero::InjectBabble(uint8_t address)
{
    std::lock_guard<std::mutex> lock(mutex);
    Endpoint *ep = Find(address);
    if (ep != nullptr) {
        ep->babble = true;
    }
}

void VirtualGadgetZero::InjectControlTimeout(uint32_t count)
{
    std::lock_guard<std::mutex> lock(mutex);
    controlUnanswered += count;
}

void VirtualGadgetZero::BusLoop()
{
    std::unique_lock<std::mutex> lock(mutex);
    while (!stopping) {
        kicked = false;
        Clock::time_point now = Clock::now();
        Clock::time_point next = Clock::time_point::max();
        std::vector<Completion> out;
        for (auto it = control.begin(); it != control.end();) {
            if (it->pending.hasDeadline && it->pending.deadline <= now) {
                out.push_back({ std::move(it->pending.done), kIOReturnTimeout, 0 });
                it = control.erase(it);
            } else {
                if (it->pending.hasDeadline) {
                    next = std::min(next, it->pending.deadline);
                }
                ++it;
            }
        }
        for (Endpoint &ep : endpoints) {
            for (auto it = ep.pending.begin(); it != ep.pending.end();) {
                if (it->hasDeadline && it->deadline <= now) {
                    out.push_back({ std::move(it->done), kIOReturnTimeout, 0 });
                    it = ep.pending.erase(it);
                } else {
                    if (it->hasDeadline) {
                        next = std::min(next, it->deadline);
                    }
                    ++it;
                }
            }
        }
        Pump(out);
        next = std::min(next, starvedUntil);
        if (!out.empty()) {
            if (bus_ == Bus::HighSpeed) {
                // At high speed the controller reports what a microframe moved at its end,
                // together. Transfers submitted meanwhile still go in that microframe while its
                // budget lasts, as a controller serves what is linked into its schedule.
                Clock::time_point report = packetsAt + kMicroframe;
                while (!stopping) {
                    kicked = false;
                    busWake.wait_until(lock, report, [&] { return kicked || stopping; });
                    if (!kicked || Clock::now() >= report) {
                        break;
                    }
                    Pump(out);
                }
            }
            lock.unlock();
            Run(out);
            lock.lock();
            continue;
        }
        if (kicked || stopping) {
            continue;
        }
        if (next == Clock::time_point::max()) {
            busWake.wait(lock);
        } else {
            busWake.wait_until(lock, next);
        }
    }
}
