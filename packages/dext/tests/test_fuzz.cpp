// ExternalMethod and CopyClientMemoryForType with random arguments: every call returns, nothing
// crashes, and closing releases everything (run it under the sanitizers).
#include <random>
#include <vector>

#include "client.h"
#include "harness.h"

namespace {

uint64_t Pick(std::mt19937_64 &random, std::initializer_list<uint64_t> choices)
{
    std::vector<uint64_t> list(choices);
    return list[random() % list.size()];
}

} // namespace

TEST(fuzz_external_method_and_memory_types)
{
    DextioHostLiveCounts baseline = SettledCounts();
    // The dext may keep descriptors of these buffers until the close: they outlive the client.
    static std::vector<uint8_t> input(70000, 0x11);
    static std::vector<uint8_t> output(70000);
    std::mt19937_64 random(20240611);
    uint64_t calls = 0;
    uint64_t accepted = 0;
    {
        TestClient client;
        CHECK_EQ(client.Open(), kIOReturnSuccess);
        for (int i = 0; i < 4000; i++) {
            uint32_t selector = static_cast<uint32_t>(Pick(random, { 0, 1, 2, 2, 2, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1u << 31 }));
            // Mostly well-formed counts, so that the calls get past the dispatch table's checks.
            static const uint32_t inCounts[] = { 0, 0, 0, 4, 6, 6, 1, 1, 1, 0, 2 };
            static const uint32_t outCounts[] = { 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
            static_assert(sizeof(inCounts) / sizeof(inCounts[0]) == kDextioSelectorCount, "one per selector");
            bool known = selector < kDextioSelectorCount;
            uint32_t scalarCount = known && random() % 4 != 0 ? inCounts[selector] : static_cast<uint32_t>(random() % 8);
            uint64_t scalars[16];
            for (uint64_t &scalar : scalars) {
                scalar = Pick(random, { 0, 1, 2, 15, 16, 0x01, 0x02, 0x81, 0x82, 0x83, 0x40, 0xc0, 0x5b, 0x5c, 511,
                                        512, 4095, 4096, 4097, 8192, 65535, 65536, UINT32_MAX, UINT64_MAX, random() });
            }
            size_t inputSize = Pick(random, { 0, 0, 1, 8, 4095, 4096, 4097, 8192, 65535, 65536 });
            size_t outputSize = Pick(random, { 0, 0, 8, 64, 4096, 4097, 8192, 65535, 65536 });
            // Half of the calls start from a well-formed request, then maybe one field is mangled.
            if (known && random() % 2 == 0) {
                uint64_t pipe = Pick(random, { 0x01, 0x02, 0x81, 0x82 });
                uint64_t length = Pick(random, { 0, 64, 512, 4096 });
                switch (selector) {
                case kDextioSelectorSubmitDescriptor:
                    length = Pick(random, { 4097, 8192, 65536 });
                    scalars[0] = pipe, scalars[1] = length, scalars[2] = random() % 2 * 50;
                    inputSize = pipe & 0x80 ? 0 : length;
                    outputSize = pipe & 0x80 ? length : 0;
                    break;
                case kDextioSelectorControlIn:
                case kDextioSelectorControlOut:
                    // Both paths of the data stage: by value, or a descriptor above 4096 bytes.
                    length = Pick(random, { 0, 64, 4096, 4097, 65535 });
                    scalars[0] = selector == kDextioSelectorControlIn ? 0xc0 : 0x40;
                    scalars[1] = selector == kDextioSelectorControlIn ? 0x5c : 0x5b;
                    scalars[2] = scalars[3] = 0, scalars[4] = length, scalars[5] = 100;
                    if (selector == kDextioSelectorControlIn && random() % 2 == 0) {
                        // GET_DESCRIPTOR(configuration): answered at any length.
                        scalars[0] = 0x80, scalars[1] = 0x06, scalars[2] = 0x0200;
                    }
                    inputSize = selector == kDextioSelectorControlIn ? 0 : length;
                    outputSize = selector == kDextioSelectorControlIn && length > 4096 ? length : 0;
                    break;
                case kDextioSelectorGetDescriptor:
                    scalars[0] = Pick(random, { kDextioDescriptorDevice, kDextioDescriptorConfiguration });
                    scalars[1] = random() % 2;
                    inputSize = 0;
                    outputSize = Pick(random, { 9, 18, 4096, 8192 });
                    break;
                default:
                    scalars[0] = selector == kDextioSelectorSelectAltSetting ? random() % 3 : pipe;
                    inputSize = 0;
                    outputSize = selector == kDextioSelectorGetPipes ? 4096 : 0;
                    break;
                }
                if (random() % 3 == 0) {
                    scalars[random() % 6] = random();
                }
            }
            // Submission ring entries, well-formed or not, which the next kick or completion takes;
            // sometimes the ring's index itself is scribbled on.
            if (random() % 2 == 0 && client.Submissions() != nullptr) {
                DextioSubmission entry = {};
                entry.tag = random() % 64;
                entry.pipe = static_cast<uint8_t>(Pick(random, { 0x01, 0x02, 0x81, 0x82, 0x83, 0, random() }));
                entry.slot = static_cast<uint8_t>(Pick(random, { 0, 1, 15, 16, random() }));
                entry.length = static_cast<uint32_t>(Pick(random, { 0, 64, 512, 4096, 4097, random() }));
                entry.timeoutMs = static_cast<uint32_t>(Pick(random, { 0, 0, 50, random() }));
                if (random() % 64 == 0) {
                    __atomic_store_n(&client.Submissions()->producerIndex, static_cast<uint32_t>(random()),
                                     __ATOMIC_SEQ_CST);
                } else {
                    client.Submit(entry);
                }
            }
            bool asyncSelector = selector == kDextioSelectorControlIn || selector == kDextioSelectorControlOut ||
                                 selector == kDextioSelectorRegisterNotification;
            bool async = random() % 5 == 0 ? !asyncSelector : asyncSelector;
            uint64_t scalarOut[16];
            uint32_t scalarOutCount = known && random() % 4 != 0 ? outCounts[selector] : static_cast<uint32_t>(random() % 10);
            kern_return_t ret;
            if (async) {
                ret = client.CallAsync(selector, scalars, scalarCount, inputSize ? input.data() : nullptr, inputSize,
                                       outputSize ? output.data() : nullptr, outputSize ? &outputSize : nullptr);
            } else {
                ret = IOConnectCallMethod(client.connect, selector, scalars, scalarCount,
                                          inputSize ? input.data() : nullptr, inputSize, scalarOut, &scalarOutCount,
                                          outputSize ? output.data() : nullptr, outputSize ? &outputSize : nullptr);
            }
            calls++;
            accepted += ret == kIOReturnSuccess;

            uint32_t type = static_cast<uint32_t>(Pick(random, { random(), DextioMemoryTypeSlot(0x81, random() % 20),
                                                                 DextioMemoryTypeSlot(random() % 256, 0),
                                                                 DextioMemoryTypeCompletionRing(),
                                                                 DextioMemoryTypeCompletionConsumer(),
                                                                 DextioMemoryTypeControl() }));
            mach_vm_address_t address = 0;
            mach_vm_size_t size = 0;
            if (IOConnectMapMemory64(client.connect, type, mach_task_self(), &address, &size, kIOMapAnywhere) ==
                    kIOReturnSuccess &&
                random() % 2 == 0) {
                CHECK_EQ(IOConnectUnmapMemory64(client.connect, type, mach_task_self(), address), kIOReturnSuccess);
            }
        }
        printf("    %llu random calls, %llu accepted\n", static_cast<unsigned long long>(calls),
               static_cast<unsigned long long>(accepted));
        CHECK(accepted > 0 && accepted < calls);
        CHECK_EQ(client.Close(), kIOReturnSuccess);
    }
    CHECK(Eventually([&] { return LiveCountsEqual(LiveCounts(), baseline); }));
    // The device still works afterwards (the fuzzer may have left it in alternate setting 1).
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint64_t alt = 0;
    CHECK_EQ(client.Call(kDextioSelectorSelectAltSetting, &alt, 1), kIOReturnSuccess);
    uint64_t pipe = 0x81;
    CHECK_EQ(client.Call(kDextioSelectorClearStall, &pipe, 1), kIOReturnSuccess);
    DextioCompletion completion;
    CHECK_EQ(client.SubmitSlot(0x81, 0, 512, 0, 1), kIOReturnSuccess);
    CHECK(client.Wait(1, &completion));
    CHECK_EQ(completion.status, kIOReturnSuccess);
}
