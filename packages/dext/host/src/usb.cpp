// Host runtime: USBDriverKit's interface, pipe and device over the virtual gadget zero.
#include <USBDriverKit/IOUSBHostInterface.h>

#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <cstring>
#include <vector>

#include "internal.h"

namespace {

void *CopyBytes(const std::vector<uint8_t> &bytes)
{
    void *copy = malloc(bytes.size());
    if (copy != nullptr) {
        memcpy(copy, bytes.data(), bytes.size());
    }
    return copy;
}

// What a transfer or a control request holds until its completion has been delivered: the pipe or
// interface it went to, its buffer (may be null) and its completion action, each retained.
struct InFlight {
    OSObject *owner;
    IOMemoryDescriptor *buffer;
    OSAction *completion;
};

InFlight *Hold(OSObject *owner, IOMemoryDescriptor *buffer, OSAction *completion)
{
    owner->retain();
    completion->retain();
    if (buffer != nullptr) {
        buffer->retain();
    }
    return new InFlight{ owner, buffer, completion };
}

void Release(void *context)
{
    auto *refs = static_cast<InFlight *>(context);
    OSSafeReleaseNULL(refs->buffer);
    OSSafeReleaseNULL(refs->completion);
    OSSafeReleaseNULL(refs->owner);
    delete refs;
}

// What AsyncIO and DeviceRequest check of a buffer for `length` bytes moving in `direction`.
kern_return_t CheckBuffer(IOMemoryDescriptor *buffer, uint64_t length, uint64_t direction)
{
    if (buffer == nullptr) {
        return length == 0 ? kIOReturnSuccess : kIOReturnBadArgument;
    }
    if (buffer->HostLength() < length || (buffer->HostDirection() & direction) == 0) {
        return kIOReturnBadArgument;
    }
    // The virtual device moves bytes through one address: memory in pieces is not modeled here.
    return length == 0 || buffer->HostAddress() != nullptr ? kIOReturnSuccess : kIOReturnUnsupported;
}

uint64_t RequestDirection(uint8_t bmRequestType)
{
    return (bmRequestType & kIOUSBDeviceRequestDirectionMask) == kIOUSBDeviceRequestDirectionIn
               ? kIOMemoryDirectionIn
               : kIOMemoryDirectionOut;
}

} // namespace

void IOUSBHostFreeDescriptor(const void *descriptor)
{
    free(const_cast<void *>(descriptor));
}

// Descriptor parsing

const IOUSBDescriptorHeader *IOUSBGetNextDescriptor(const IOUSBConfigurationDescriptor *configurationDescriptor,
                                                    const IOUSBDescriptorHeader *currentDescriptor)
{
    if (configurationDescriptor == nullptr) {
        return nullptr;
    }
    const uint8_t *base = reinterpret_cast<const uint8_t *>(configurationDescriptor);
    const uint8_t *end = base + configurationDescriptor->wTotalLength;
    const uint8_t *next = currentDescriptor == nullptr
                              ? base + configurationDescriptor->bLength
                              : reinterpret_cast<const uint8_t *>(currentDescriptor) + currentDescriptor->bLength;
    if (next + sizeof(IOUSBDescriptorHeader) > end) {
        return nullptr;
    }
    const IOUSBDescriptorHeader *header = reinterpret_cast<const IOUSBDescriptorHeader *>(next);
    if (header->bLength < sizeof(IOUSBDescriptorHeader) || next + header->bLength > end) {
        return nullptr;
    }
    return header;
}

const IOUSBInterfaceDescriptor *IOUSBGetNextInterfaceDescriptor(
    const IOUSBConfigurationDescriptor *configurationDescriptor, const IOUSBDescriptorHeader *currentDescriptor)
{
    const IOUSBDescriptorHeader *d = currentDescriptor;
    while ((d = IOUSBGetNextDescriptor(configurationDescriptor, d)) != nullptr) {
        if (d->bDescriptorType == kIOUSBDescriptorTypeInterface && d->bLength >= sizeof(IOUSBInterfaceDescriptor)) {
            return reinterpret_cast<const IOUSBInterfaceDescriptor *>(d);
        }
    }
    return nullptr;
}

const IOUSBEndpointDescriptor *IOUSBGetNextEndpointDescriptor(
    const IOUSBConfigurationDescriptor *configurationDescriptor,
    const IOUSBInterfaceDescriptor *interfaceDescriptor, const IOUSBDescriptorHeader *currentDescriptor)
{
    const IOUSBDescriptorHeader *d = currentDescriptor != nullptr
                                         ? currentDescriptor
                                         : reinterpret_cast<const IOUSBDescriptorHeader *>(interfaceDescriptor);
    while ((d = IOUSBGetNextDescriptor(configurationDescriptor, d)) != nullptr) {
        if (d->bDescriptorType == kIOUSBDescriptorTypeInterface) {
            return nullptr;
        }
        if (d->bDescriptorType == kIOUSBDescriptorTypeEndpoint && d->bLength >= sizeof(IOUSBEndpointDescriptor)) {
            return reinterpret_cast<const IOUSBEndpointDescriptor *>(d);
        }
    }
    return nullptr;
}

uint8_t IOUSBGetEndpointAddress(const IOUSBEndpointDescriptor *descriptor)
{
    return descriptor->bEndpointAddress & kIOUSBEndpointDescriptorEndpointAddressMask;
}

uint8_t IOUSBGetEndpointType(const IOUSBEndpointDescriptor *descriptor)
{
    return descriptor->bmAttributes & kIOUSBEndpointDescriptorTransferType;
}

uint16_t IOUSBGetEndpointMaxPacketSize(uint32_t, const IOUSBEndpointDescriptor *descriptor)
{
    return descriptor->wMaxPacketSize & kIOUSBEndpointDescriptorPacketSize;
}

// IOUSBHostDevice

IOUSBHostDevice *IOUSBHostDevice::HostCreate(HostUSBDeviceState *state)
{
    IOUSBHostDevice *device = new IOUSBHostDevice;
    state->Retain();
    device->device = state;
    if (!device->init()) {
        device->release();
        return nullptr;
    }
    return device;
}

const IOUSBDeviceDescriptor *IOUSBHostDevice::CopyDeviceDescriptor()
{
    if (!device->attached) {
        return nullptr;
    }
    return static_cast<const IOUSBDeviceDescriptor *>(CopyBytes(device->gadget->DeviceDescriptor()));
}

const IOUSBConfigurationDescriptor *IOUSBHostDevice::CopyConfigurationDescriptor(uint8_t index)
{
    if (!device->attached) {
        return nullptr;
    }
    std::vector<uint8_t> descriptor = device->gadget->Descriptor(kIOUSBDescriptorTypeConfiguration, index);
    return descriptor.empty() ? nullptr : static_cast<const IOUSBConfigurationDescriptor *>(CopyBytes(descriptor));
}

void IOUSBHostDevice::free()
{
    if (device != nullptr) {
        device->Release();
        device = nullptr;
    }
    IOService::free();
}

// IOUSBHostInterface

IOUSBHostInterface *IOUSBHostInterface::HostCreate(HostUSBDeviceState *state, uint8_t number)
{
    IOUSBHostInterface *interface = new IOUSBHostInterface;
    state->Retain();
    interface->device = state;
    interface->interfaceNumber = number;
    if (!interface->init()) {
        interface->release();
        return nullptr;
    }
    return interface;
}

void IOUSBHostInterface::free()
{
    if (device != nullptr) {
        device->Release();
        device = nullptr;
    }
    IOService::free();
}

kern_return_t IOUSBHostInterface::Open(IOService *forClient, IOOptionBits, uint8_t *, OSDispatchMethod)
{
    if (forClient == nullptr) {
        return kIOReturnBadArgument;
    }
    if (!device->attached) {
        return kIOReturnNoDevice;
    }
    IOService *expected = nullptr;
    if (!device->openedBy.compare_exchange_strong(expected, forClient) && expected != forClient) {
        return kIOReturnExclusiveAccess;
    }
    return kIOReturnSuccess;
}

kern_return_t IOUSBHostInterface::Close(IOService *forClient, IOOptionBits, OSDispatchMethod)
{
    IOService *expected = forClient;
    return device->openedBy.compare_exchange_strong(expected, nullptr) ? kIOReturnSuccess : kIOReturnNotOpen;
}

kern_return_t IOUSBHostInterface::CopyPipe(uint8_t address, IOUSBHostPipe **pipe, OSDispatchMethod)
{
    if (pipe == nullptr) {
        return kIOReturnBadArgument;
    }
    if (!device->attached) {
        return kIOReturnNoDevice;
    }
    if (device->openedBy == nullptr) {
        return kIOReturnNotOpen;
    }
    HostPipeState state = { device, address, 0, 0, device->generation };
    if (!device->gadget->HasEndpoint(address, &state.type, &state.maxPacketSize)) {
        return kIOReturnNotFound;
    }
    *pipe = IOUSBHostPipe::HostCreate(new HostPipeState(state));
    return *pipe != nullptr ? kIOReturnSuccess : kIOReturnNoMemory;
}

kern_return_t IOUSBHostInterface::SelectAlternateSetting(uint8_t bAlternateSetting, OSDispatchMethod)
{
    if (device->openedBy == nullptr) {
        return kIOReturnNotOpen;
    }
    kern_return_t ret = device->gadget->SetAltSetting(bAlternateSetting);
    if (ret == kIOReturnSuccess) {
        // The pipes of the previous setting are gone, as on macOS.
        device->generation++;
    }
    return ret;
}

kern_return_t IOUSBHostInterface::CopyDevice(IOUSBHostDevice **result, OSDispatchMethod)
{
    if (result == nullptr) {
        return kIOReturnBadArgument;
    }
    if (!device->attached || device->device == nullptr) {
        return kIOReturnNoDevice;
    }
    device->device->retain();
    *result = device->device;
    return kIOReturnSuccess;
}

const IOUSBConfigurationDescriptor *IOUSBHostInterface::CopyConfigurationDescriptor()
{
    if (!device->attached) {
        return nullptr;
    }
    return static_cast<const IOUSBConfigurationDescriptor *>(CopyBytes(device->gadget->ConfigurationDescriptor()));
}

const IOUSBInterfaceDescriptor *IOUSBHostInterface::GetInterfaceDescriptor(
    const IOUSBConfigurationDescriptor *configurationDescriptor)
{
    uint8_t alt = device->gadget->AltSetting();
    const IOUSBInterfaceDescriptor *d = nullptr;
    while ((d = IOUSBGetNextInterfaceDescriptor(configurationDescriptor,
                                                reinterpret_cast<const IOUSBDescriptorHeader *>(d))) != nullptr) {
        if (d->bInterfaceNumber == interfaceNumber && d->bAlternateSetting == alt) {
            return d;
        }
    }
    return nullptr;
}

kern_return_t IOUSBHostInterface::CreateIOBuffer(IOOptionBits options, uint64_t capacity,
                                                 IOBufferMemoryDescriptor **buffer)
{
    return IOBufferMemoryDescriptor::Create(options, capacity, 0, buffer);
}

kern_return_t IOUSBHostInterface::DeviceRequest(uint8_t bmRequestType, uint8_t bRequest, uint16_t wValue,
                                                uint16_t wIndex, uint16_t wLength, IOMemoryDescriptor *dataBuffer,
                                                uint16_t *bytesTransferred, uint32_t completionTimeoutMs)
{
    if (bytesTransferred == nullptr) {
        return kIOReturnBadArgument;
    }
    kern_return_t ret = CheckBuffer(wLength > 0 ? dataBuffer : nullptr, wLength, RequestDirection(bmRequestType));
    if (ret != kIOReturnSuccess) {
        return ret;
    }
    if (device->openedBy == nullptr) {
        return kIOReturnNotOpen;
    }
    // Blocks the calling queue until the device answers or the timeout passes (0: never), as on macOS.
    struct Result {
        std::mutex mutex;
        std::condition_variable done;
        bool finished = false;
        IOReturn status = kIOReturnSuccess;
        uint32_t bytes = 0;
    };
    auto result = std::make_shared<Result>();
    ret = device->gadget->SubmitControl(bmRequestType, bRequest, wValue, wIndex, wLength,
                                        wLength > 0 ? dataBuffer->HostAddress() : nullptr, completionTimeoutMs,
                                        [result](IOReturn status, uint32_t bytes) {
                                            std::lock_guard<std::mutex> lock(result->mutex);
                                            result->status = status;
                                            result->bytes = bytes;
                                            result->finished = true;
                                            result->done.notify_all();
                                        });
    if (ret != kIOReturnSuccess) {
        return ret;
    }
    std::unique_lock<std::mutex> lock(result->mutex);
    result->done.wait(lock, [&] { return result->finished; });
    *bytesTransferred = static_cast<uint16_t>(result->bytes);
    return result->status;
}

kern_return_t IOUSBHostInterface::AsyncDeviceRequest(uint8_t bmRequestType, uint8_t bRequest, uint16_t wValue,
                                                     uint16_t wIndex, uint16_t wLength, IOMemoryDescriptor *dataBuffer,
                                                     OSAction *completion, uint32_t completionTimeoutMs)
{
    if (completion == nullptr || completion->HostMsgID() != IOUSBHostDevice_CompleteAsyncDeviceRequest_ID) {
        return kIOReturnBadArgument;
    }
    kern_return_t ret = CheckBuffer(wLength > 0 ? dataBuffer : nullptr, wLength, RequestDirection(bmRequestType));
    if (ret != kIOReturnSuccess) {
        return ret;
    }
    if (!device->attached) {
        return kIOReturnNoDevice;
    }
    if (device->openedBy == nullptr) {
        return kIOReturnNotOpen;
    }
    InFlight *refs = Hold(this, wLength > 0 ? dataBuffer : nullptr, completion);
    ret = device->gadget->SubmitControl(bmRequestType, bRequest, wValue, wIndex, wLength,
                                        wLength > 0 ? dataBuffer->HostAddress() : nullptr, completionTimeoutMs,
                                        [refs](IOReturn status, uint32_t bytes) {
                                            IOUSBHostDevice::CompleteAsyncDeviceRequest_Msg msg = { refs->completion,
                                                                                                   status, bytes };
                                            if (!refs->completion->HostDeliver(&msg, sizeof(msg), &Release, refs)) {
                                                Release(refs);
                                            }
                                        });
    if (ret != kIOReturnSuccess) {
        Release(refs);
    }
    return ret;
}

kern_return_t IOUSBHostInterface::AbortDeviceRequests(IOOptionBits, IOReturn withError)
{
    // The host has one client per interface: its requests are all the device has queued.
    device->gadget->AbortControl(withError);
    return kIOReturnSuccess;
}

// IOUSBHostPipe

IOUSBHostPipe *IOUSBHostPipe::HostCreate(HostPipeState *state)
{
    IOUSBHostPipe *pipe = new IOUSBHostPipe;
    state->device->Retain();
    pipe->state = state;
    if (!pipe->init()) {
        pipe->release();
        return nullptr;
    }
    return pipe;
}

void IOUSBHostPipe::free()
{
    if (state != nullptr) {
        state->device->Release();
        delete state;
        state = nullptr;
    }
    OSObject::free();
}

kern_return_t IOUSBHostPipe::AsyncIO(IOMemoryDescriptor *dataBuffer, uint32_t dataBufferLength, OSAction *completion,
                                     uint32_t completionTimeoutMs, OSDispatchMethod)
{
    HostUSBDeviceState *device = state->device;
    if (completion == nullptr || completion->HostMsgID() != IOUSBHostPipe_CompleteAsyncIO_ID) {
        return kIOReturnBadArgument;
    }
    kern_return_t checked =
        CheckBuffer(dataBuffer, dataBufferLength, (state->address & 0x80) ? kIOMemoryDirectionIn : kIOMemoryDirectionOut);
    if (checked != kIOReturnSuccess) {
        return checked;
    }
    if (state->type == kIOUSBEndpointTypeIsochronous) {
        return kIOReturnUnsupported;
    }
    if (state->type == kIOUSBEndpointTypeInterrupt && completionTimeoutMs != 0) {
        return kIOReturnBadArgument;
    }
    if (!device->attached) {
        return kIOReturnNoDevice;
    }
    if (state->generation != device->generation) {
        return kIOReturnNotAttached;
    }
    if (device->openedBy == nullptr) {
        return kIOReturnNotOpen;
    }

    InFlight *refs = Hold(this, dataBuffer, completion);
    kern_return_t ret = device->gadget->Submit(
        state->address, dataBuffer != nullptr ? dataBuffer->HostAddress() : nullptr, dataBufferLength,
        completionTimeoutMs, [refs](IOReturn status, uint32_t bytes) {
            CompleteAsyncIO_Msg msg = { refs->completion, status, bytes, HostTimestamp() };
            if (!refs->completion->HostDeliver(&msg, sizeof(msg), &Release, refs)) {
                Release(refs);
            }
        });
    if (ret != kIOReturnSuccess) {
        Release(refs);
    }
    return ret;
}

kern_return_t IOUSBHostPipe::Abort(IOOptionBits, kern_return_t withError, IOService *, OSDispatchMethod)
{
    // Both options behave alike here: the aborted transfers' completions are queued before Abort
    // returns, and they run on the dext's queue.
    if (state->generation == state->device->generation) {
        state->device->gadget->Abort(state->address, withError);
    }
    return kIOReturnSuccess;
}

kern_return_t IOUSBHostPipe::ClearStall(bool, OSDispatchMethod)
{
    if (!state->device->attached) {
        return kIOReturnNoDevice;
    }
    if (state->generation != state->device->generation) {
        return kIOReturnNotAttached;
    }
    return state->device->gadget->ClearHalt(state->address);
}

kern_return_t IOUSBHostPipe::GetSpeed(uint8_t *speed, OSDispatchMethod) const
{
    if (speed == nullptr) {
        return kIOReturnBadArgument;
    }
    *speed = kUSBHostConnectionSpeedHigh;
    return kIOReturnSuccess;
}
