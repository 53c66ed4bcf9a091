// Host runtime: the virtual gadget zero (Linux drivers/usb/gadget/function/f_sourcesink.c and
// f_loopback.c, in one interface). It is the "device" behind IOUSBHostInterface/IOUSBHostPipe.
#pragma once

#include <DriverKit/IOReturn.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

class VirtualGadgetZero {
public:
    using Done = std::function<void(IOReturn status, uint32_t bytes)>;

    // How the bus paces transfers. Unthrottled: the device answers at once (the software's
    // ceiling). High speed: USB 2.0 bulk timing, at most 13 packets of 512 bytes per 125 us
    // microframe shared by the endpoints (53.248 MB/s), with completions reported per microframe.
    enum class Bus { Unthrottled, HighSpeed };
    void SetBus(Bus bus);
    Bus CurrentBus();

    VirtualGadgetZero();
    ~VirtualGadgetZero();

    std::vector<uint8_t> DeviceDescriptor() const;
    std::vector<uint8_t> ConfigurationDescriptor() const;
    /** A GET_DESCRIPTOR answer (device, configuration or string), or empty for a stall. */
    std::vector<uint8_t> Descriptor(uint8_t type, uint8_t index) const;
    uint8_t AltSetting();
    IOReturn SetAltSetting(uint8_t alt);
    bool HasEndpoint(uint8_t address, uint8_t *type, uint16_t *maxPacketSize);

    // Queue a transfer; unless Submit returns an error, done is called exactly once, later, from
    // the bus thread or the thread that aborts it, never with the gadget's lock held.
    IOReturn Submit(uint8_t address, uint8_t *data, uint32_t length, uint32_t timeoutMs, Done done);
    void Abort(uint8_t address, IOReturn status);
    IOReturn ClearHalt(uint8_t address);
    // Queue a control request on endpoint 0; like Submit, done is called exactly once, later,
    // unless this returns an error. A timeout of 0 never ends.
    IOReturn SubmitControl(uint8_t bmRequestType, uint8_t bRequest, uint16_t wValue, uint16_t wIndex,
                           uint16_t wLength, uint8_t *data, uint32_t timeoutMs, Done done);
    void AbortControl(IOReturn status);

    void Disconnect();
    void Connect();
    bool Connected();

    void SetPattern(int pattern);
    void InjectStall(uint8_t address);
    void InjectTimeout(uint8_t address, uint32_t count);
    void InjectBabble(uint8_t address);
    void InjectControlTimeout(uint32_t count);

private:
    using Clock = std::chrono::steady_clock;
    struct Pending {
        uint8_t *data;
        uint32_t length;
        bool hasDeadline;
        Clock::time_point deadline;
        bool unanswered;              // injected timeout: only the deadline or an abort ends it
        Done done;
        uint32_t packetsMoved = 0;    // high speed: packets already on the bus, over past microframes
    };
    struct Endpoint {
        uint8_t address;
        uint8_t type;
        uint16_t maxPacketSize;
        bool halted = false;
        bool babble = false;
        uint32_t unanswered = 0;
        std::deque<Pending> pending;
        // One packet of SourceSink's data for `packetPattern` (-1: not made yet).
        std::vector<uint8_t> packet;
        int packetPattern = -1;
    };
    const uint8_t *PatternPacket(Endpoint &ep);
    struct ControlRequest {
        uint8_t bmRequestType;
        uint8_t bRequest;
        uint16_t wValue;
        uint16_t wIndex;
        uint16_t wLength;
        Pending pending;
    };
    struct Completion {
        Done done;
        IOReturn status;
        uint32_t bytes;
    };

    Endpoint *Find(uint8_t address);
    void Pump(std::vector<Completion> &out);
    bool Serve(Endpoint &ep, Pending &p, std::vector<Completion> &out);
    // Whether the device and the bus can move the transfer now (charging the bus if so).
    bool Ready(Endpoint &ep, Pending &p, Clock::time_point now);
    void FailAll(Endpoint &ep, IOReturn status, std::vector<Completion> &out);
    void FailControl(IOReturn status, std::vector<Completion> &out);
    // High speed: whether the bus has time for the rest of a transfer of this many packets now; if
    // not, the transfer takes what the microframe has left, and starvedUntil says when to look
    // again. Refills the budget from the time elapsed.
    bool Afford(Pending &p, uint32_t packets, Clock::time_point now);
    // The answer of the device to a control request, with the lock held.
    IOReturn Answer(const ControlRequest &request, uint16_t *bytesTransferred);
    static void Run(const std::vector<Completion> &completions);
    void BusLoop();

    std::mutex mutex;
    std::condition_variable busWake;
    bool kicked = false;              // transfers queued since the bus thread last looked
    bool connected = true;
    bool stopping = false;
    uint8_t alt = 0;
    int pattern = 1;
    std::vector<Endpoint> endpoints;
    std::deque<ControlRequest> control;          // endpoint 0, a FIFO like the others
    Bus bus_ = Bus::HighSpeed;
    double packets = 0;                          // high speed: packets the bus may still move
    Clock::time_point packetsAt;                 // ...as of this microframe boundary
    Clock::time_point starvedUntil = Clock::time_point::max();
    uint32_t controlUnanswered = 0;
    std::deque<std::vector<uint8_t>> loopback;   // OUT transfers waiting to be read back
    std::vector<uint8_t> controlBuffer;
    std::thread bus;
};
