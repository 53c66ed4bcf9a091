// Both data paths over the virtual gadget zero: boundaries, directions, faults, aborts, doorbells.
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "client.h"
#include "harness.h"

namespace {

bool IsPattern(const uint8_t *data, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        if (data[i] != (i % 512) % 63) {
            return false;
        }
    }
    return true;
}

void FillPattern(uint8_t *data, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        data[i] = static_cast<uint8_t>((i % 512) % 63);
    }
}

} // namespace

TEST(transfer_source_in_slot)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint8_t *slot = client.Slot(0x81, 2);
    CHECK(slot != nullptr);
    CHECK_EQ(client.SubmitSlot(0x81, 2, 1000, 1000, 0xabcdef), kIOReturnSuccess);
    DextioCompletion completion;
    CHECK(client.Wait(0xabcdef, &completion));
    CHECK_EQ(completion.status, kIOReturnSuccess);
    CHECK_EQ(completion.bytes, 1000u);
    CHECK(completion.timestamp != 0);
    CHECK(IsPattern(slot, 1000));
    CHECK_EQ(client.Ring()->header.completionCount, 1u);
    CHECK_EQ(client.Ring()->header.doorbellCount, 1u);
}

TEST(transfer_in_boundary_4095_4096_4097)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint8_t *slot = client.Slot(0x81, 0);
    DextioCompletion completion;
    for (uint32_t length : { 4095u, 4096u }) {
        CHECK_EQ(client.SubmitSlot(0x81, 0, length, 0, length), kIOReturnSuccess);
        CHECK(client.Wait(length, &completion));
        CHECK_EQ(completion.bytes, length);
        CHECK(IsPattern(slot, length));
    }
    CHECK_EQ(client.Refused(0x81, 0, 4097, 0, 1), kIOReturnBadArgument);

    // 4097 and more: the caller's buffer is the output descriptor.
    std::vector<uint8_t> buffer(4097, 0xff);
    CHECK_EQ(client.SubmitDescriptor(0x81, buffer.data(), buffer.size(), 0, 4097), kIOReturnSuccess);
    CHECK(client.Wait(4097, &completion));
    CHECK_EQ(completion.status, kIOReturnSuccess);
    CHECK_EQ(completion.bytes, 4097u);
    CHECK(IsPattern(buffer.data(), buffer.size()));
    // 4096 bytes travel by value: the descriptor path refuses them as the wrong kind.
    CHECK_EQ(client.SubmitDescriptor(0x81, buffer.data(), 4096, 0, 2), kIOReturnBadArgument);
    std::vector<uint8_t> large(1 << 20);
    CHECK_EQ(client.SubmitDescriptor(0x81, large.data(), large.size(), 0, 3), kIOReturnSuccess);
    CHECK(client.Wait(3, &completion));
    CHECK_EQ(completion.bytes, 1u << 20);
    CHECK(IsPattern(large.data(), large.size()));
}

TEST(transfer_out_boundary_4095_4096_4097)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint8_t *slot = client.Slot(0x01, 0);
    DextioCompletion completion;
    FillPattern(slot, 4096);
    for (uint32_t length : { 4095u, 4096u }) {
        CHECK_EQ(client.SubmitSlot(0x01, 0, length, 0, length), kIOReturnSuccess);
        CHECK(client.Wait(length, &completion));
        CHECK_EQ(completion.status, kIOReturnSuccess);
        CHECK_EQ(completion.bytes, length);
    }
    CHECK_EQ(client.Refused(0x01, 0, 4097, 0, 1), kIOReturnBadArgument);
    std::vector<uint8_t> buffer(4097);
    FillPattern(buffer.data(), buffer.size());
    CHECK_EQ(client.SubmitDescriptor(0x01, buffer.data(), buffer.size(), 0, 4097), kIOReturnSuccess);
    CHECK(client.Wait(4097, &completion));
    CHECK_EQ(completion.status, kIOReturnSuccess);
    CHECK_EQ(completion.bytes, 4097u);
    CHECK_EQ(client.SubmitDescriptor(0x01, buffer.data(), 4096, 0, 2), kIOReturnBadArgument);
}

TEST(transfer_descriptor_wrong_kind_or_length)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    std::vector<uint8_t> buffer(8192);
    uint64_t in[kDextioSubmitDescriptorScalarCount] = { 0x81, buffer.size(), 0, 1 };
    uint64_t out[kDextioSubmitDescriptorScalarCount] = { 0x01, buffer.size(), 0, 1 };
    size_t size = buffer.size();
    // An IN pipe given an input structure, an OUT pipe given an output structure.
    CHECK_EQ(client.CallSync(kDextioSelectorSubmitDescriptor, in, 4, buffer.data(), size, nullptr, nullptr),
             kIOReturnBadArgument);
    CHECK_EQ(client.CallSync(kDextioSelectorSubmitDescriptor, out, 4, nullptr, 0, buffer.data(), &size),
             kIOReturnBadArgument);
    // Both at once.
    CHECK_EQ(client.CallSync(kDextioSelectorSubmitDescriptor, in, 4, buffer.data(), size, buffer.data(), &size),
             kIOReturnBadArgument);
    // The scalar length disagreeing with the descriptor.
    in[kDextioSubmitDescriptorLength] = 8000;
    CHECK_EQ(client.CallSync(kDextioSelectorSubmitDescriptor, in, 4, nullptr, 0, buffer.data(), &size),
             kIOReturnBadArgument);
    // No structure at all.
    CHECK_EQ(client.CallSync(kDextioSelectorSubmitDescriptor, in, 4, nullptr, 0, nullptr, nullptr),
             kIOReturnBadArgument);
    CHECK_EQ(client.Ring()->header.completionCount, 0u);
}

TEST(transfer_loopback_round_trip)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint8_t *out = client.Slot(0x02, 0);
    uint8_t *in = client.Slot(0x82, 0);
    for (uint32_t i = 0; i < 100; i++) {
        out[i] = static_cast<uint8_t>(i ^ 0x5a);
    }
    DextioCompletion completion;
    CHECK_EQ(client.SubmitSlot(0x82, 0, 512, 1000, 10), kIOReturnSuccess);  // waits for data
    CHECK_EQ(client.SubmitSlot(0x02, 0, 100, 1000, 11), kIOReturnSuccess);
    CHECK(client.Wait(11, &completion));
    CHECK_EQ(completion.bytes, 100u);
    CHECK(client.Wait(10, &completion));
    CHECK_EQ(completion.status, kIOReturnSuccess);
    CHECK_EQ(completion.bytes, 100u);  // a short packet ends the IN transfer
    CHECK(memcmp(in, out, 100) == 0);

    // Descriptor path both ways, 64 KiB.
    std::vector<uint8_t> send(65536);
    std::vector<uint8_t> receive(65536);
    for (size_t i = 0; i < send.size(); i++) {
        send[i] = static_cast<uint8_t>(i * 13);
    }
    CHECK_EQ(client.SubmitDescriptor(0x02, send.data(), send.size(), 1000, 20), kIOReturnSuccess);
    CHECK_EQ(client.SubmitDescriptor(0x82, receive.data(), receive.size(), 1000, 21), kIOReturnSuccess);
    CHECK(client.Wait(21, &completion));
    CHECK_EQ(completion.bytes, 65536u);
    CHECK(client.Wait(20, &completion));
    CHECK(send == receive);
}

TEST(transfer_busy_slot)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    CHECK_EQ(client.SubmitSlot(0x82, 5, 512, 0, 1), kIOReturnSuccess);  // no data: stays in flight
    CHECK_EQ(client.Refused(0x82, 5, 512, 0, 2), kIOReturnBusy);
    CHECK_EQ(client.SubmitSlot(0x82, 6, 512, 0, 3), kIOReturnSuccess);  // another slot is free
    uint64_t pipe = 0x82;
    CHECK_EQ(client.Call(kDextioSelectorAbortPipe, &pipe, 1), kIOReturnSuccess);
    DextioCompletion completion;
    CHECK(client.Wait(1, &completion));
    CHECK_EQ(completion.status, kIOReturnAborted);
    CHECK(client.Wait(3, &completion));
    CHECK_EQ(completion.status, kIOReturnAborted);
    CHECK_EQ(client.SubmitSlot(0x82, 5, 512, 50, 4), kIOReturnSuccess);  // free again
    CHECK(client.Wait(4, &completion));
    CHECK_EQ(completion.status, kIOReturnTimeout);
}

TEST(transfer_abort_with_requests_in_flight)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    std::vector<uint8_t> big(10000);
    for (uint8_t slot = 0; slot < kDextioSlotsPerPipe; slot++) {
        CHECK_EQ(client.SubmitSlot(0x82, slot, 512, 0, 100 + slot), kIOReturnSuccess);
    }
    CHECK_EQ(client.SubmitDescriptor(0x82, big.data(), big.size(), 0, 200), kIOReturnSuccess);
    CHECK_EQ(client.Completed(), 0u);
    uint64_t pipe = 0x82;
    CHECK_EQ(client.Call(kDextioSelectorAbortPipe, &pipe, 1), kIOReturnSuccess);
    DextioCompletion completion;
    for (uint8_t slot = 0; slot < kDextioSlotsPerPipe; slot++) {
        CHECK(client.Wait(100 + slot, &completion));
        CHECK_EQ(completion.status, kIOReturnAborted);
        CHECK_EQ(completion.bytes, 0u);
    }
    CHECK(client.Wait(200, &completion));
    CHECK_EQ(completion.status, kIOReturnAborted);
}

TEST(transfer_stall_and_clear)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint8_t *slot = client.Slot(0x01, 0);
    FillPattern(slot, 4096);
    slot[1500] ^= 0xff;  // bad data in the third packet: the sink halts the endpoint
    DextioCompletion completion;
    CHECK_EQ(client.SubmitSlot(0x01, 0, 4096, 0, 1), kIOReturnSuccess);
    CHECK(client.Wait(1, &completion));
    CHECK_EQ(completion.status, kUSBHostReturnPipeStalled);
    CHECK_EQ(completion.bytes, 1024u);
    slot[1500] ^= 0xff;
    CHECK_EQ(client.SubmitSlot(0x01, 0, 4096, 0, 2), kIOReturnSuccess);
    CHECK(client.Wait(2, &completion));
    CHECK_EQ(completion.status, kUSBHostReturnPipeStalled);  // halted until cleared
    uint64_t pipe = 0x01;
    CHECK_EQ(client.Call(kDextioSelectorClearStall, &pipe, 1), kIOReturnSuccess);
    CHECK_EQ(client.SubmitSlot(0x01, 0, 4096, 0, 3), kIOReturnSuccess);
    CHECK(client.Wait(3, &completion));
    CHECK_EQ(completion.status, kIOReturnSuccess);

    // An injected stall on the IN endpoint.
    DextioHostGadgetInjectStall(0x81);
    CHECK_EQ(client.SubmitSlot(0x81, 0, 512, 0, 4), kIOReturnSuccess);
    CHECK(client.Wait(4, &completion));
    CHECK_EQ(completion.status, kUSBHostReturnPipeStalled);
    pipe = 0x81;
    CHECK_EQ(client.Call(kDextioSelectorClearStall, &pipe, 1), kIOReturnSuccess);
}

TEST(transfer_timeout_and_babble)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    DextioCompletion completion;
    DextioHostGadgetInjectTimeout(0x81, 1);
    auto start = std::chrono::steady_clock::now();
    CHECK_EQ(client.SubmitSlot(0x81, 0, 512, 30, 1), kIOReturnSuccess);
    CHECK_EQ(client.SubmitSlot(0x81, 1, 512, 0, 2), kIOReturnSuccess);  // queued behind it
    CHECK(client.Wait(1, &completion));
    CHECK_EQ(completion.status, kIOReturnTimeout);
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(30));
    CHECK(client.Wait(2, &completion));
    CHECK_EQ(completion.status, kIOReturnSuccess);

    DextioHostGadgetInjectBabble(0x81);
    CHECK_EQ(client.SubmitSlot(0x81, 0, 512, 0, 3), kIOReturnSuccess);
    CHECK(client.Wait(3, &completion));
    CHECK_EQ(completion.status, kIOReturnOverrun);

    // Loopback: a 600-byte OUT read back into 512 bytes babbles.
    uint8_t *out = client.Slot(0x02, 0);
    memset(out, 7, 600);
    CHECK_EQ(client.SubmitSlot(0x02, 0, 600, 0, 4), kIOReturnSuccess);
    CHECK_EQ(client.SubmitSlot(0x82, 0, 512, 0, 5), kIOReturnSuccess);
    CHECK(client.Wait(5, &completion));
    CHECK_EQ(completion.status, kIOReturnOverrun);
    CHECK_EQ(completion.bytes, 512u);
}

TEST(transfer_doorbell_only_when_ring_was_empty)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    // Hold the client's queue: completions pile up in the ring while nobody drains it.
    std::mutex gate;
    gate.lock();
    __block std::mutex *gatePointer = &gate;
    dispatch_async(client.queue, ^{
        gatePointer->lock();
        gatePointer->unlock();
    });
    for (uint8_t slot = 0; slot < kDextioSlotsPerPipe; slot++) {
        CHECK_EQ(client.SubmitSlot(0x81, slot, 512, 0, slot), kIOReturnSuccess);
    }
    CHECK(Eventually([&] { return client.Ring()->header.completionCount == kDextioSlotsPerPipe; }));
    CHECK_EQ(client.Ring()->header.doorbellCount, 1u);
    gate.unlock();
    DextioCompletion completion;
    for (uint8_t slot = 0; slot < kDextioSlotsPerPipe; slot++) {
        CHECK(client.Wait(slot, &completion));
    }
    CHECK_EQ(client.Ring()->header.doorbellCount, 1u);
    CHECK_EQ(client.Doorbells(), 1u);
}

TEST(transfer_no_doorbell_while_the_client_polls)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    DextioCompletionConsumer *consumer = client.Consumer();
    __atomic_store_n(&consumer->polling, 1u, __ATOMIC_SEQ_CST);
    for (uint8_t slot = 0; slot < 4; slot++) {
        CHECK_EQ(client.SubmitSlot(0x81, slot, 512, 0, slot), kIOReturnSuccess);
    }
    CHECK(Eventually([&] { return client.Ring()->header.completionCount == 4; }));
    CHECK_EQ(client.Ring()->header.doorbellCount, 0u);
    // The client stops polling: it clears the flag, reads the producer index once more and takes
    // what is there. From then on an entry into the empty ring rings again.
    __atomic_store_n(&consumer->polling, 0u, __ATOMIC_SEQ_CST);
    uint32_t producer = __atomic_load_n(&client.Ring()->header.producerIndex, __ATOMIC_SEQ_CST);
    CHECK_EQ(producer, 4u);
    __atomic_store_n(&consumer->consumerIndex, producer, __ATOMIC_SEQ_CST);
    CHECK_EQ(client.SubmitSlot(0x81, 4, 512, 0, 4), kIOReturnSuccess);
    DextioCompletion completion;
    CHECK(client.Wait(4, &completion));
    CHECK_EQ(client.Ring()->header.doorbellCount, 1u);
}

TEST(transfer_streaming_rings_fewer_doorbells_than_transfers)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    const uint64_t total = 20000;
    const uint8_t inFlight = 8;
    uint64_t submitted = 0;
    DextioCompletion completion;
    auto start = std::chrono::steady_clock::now();
    for (; submitted < inFlight; submitted++) {
        CHECK_EQ(client.SubmitSlot(0x81, static_cast<uint8_t>(submitted), 512, 0, submitted), kIOReturnSuccess);
    }
    for (uint64_t done = 0; done < total; done++) {
        if (!client.Wait(done, &completion) || completion.status != kIOReturnSuccess) {
            TestFail(__FILE__, __LINE__, "a streaming transfer failed");
            return;
        }
        if (submitted < total) {
            CHECK_EQ(client.SubmitSlot(0x81, static_cast<uint8_t>(done % inFlight), 512, 0, submitted), kIOReturnSuccess);
            submitted++;
        }
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    uint64_t doorbells = client.Ring()->header.doorbellCount;
    printf("    streaming: %llu transfers of 512 B, %u in flight, %.0f transfers/s, %llu doorbells "
           "(%.3f IPC messages per transfer)\n",
           static_cast<unsigned long long>(total), inFlight, total / seconds,
           static_cast<unsigned long long>(doorbells), static_cast<double>(doorbells) / total);
    CHECK_EQ(client.Ring()->header.completionCount, total);
    CHECK(doorbells <= total);
}

TEST(transfer_threads_share_a_connection)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint8_t *out = client.Slot(0x01, 0);
    FillPattern(out, 4096);
    auto run = [&](uint8_t pipe, uint64_t base) {
        DextioCompletion completion;
        for (uint64_t i = 0; i < 500; i++) {
            if (client.SubmitSlot(pipe, 0, 4096, 0, base + i) != kIOReturnSuccess || !client.Wait(base + i, &completion) ||
                completion.status != kIOReturnSuccess) {
                TestFail(__FILE__, __LINE__, "threaded transfer failed");
                return;
            }
        }
    };
    std::thread reader(run, 0x81, 1000000);
    std::thread writer(run, 0x01, 2000000);
    reader.join();
    writer.join();
    CHECK_EQ(client.Ring()->header.completionCount, 1000u);
}

TEST(transfer_ring_never_overflows)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    // Nobody drains: once a completion could overwrite an entry the app has not read, the dext takes
    // no more submissions. They wait in the submission ring; nothing is lost or overwritten.
    std::mutex gate;
    gate.lock();
    std::mutex *gatePointer = &gate;
    dispatch_async(client.queue, ^{
        gatePointer->lock();
        gatePointer->unlock();
    });
    uint64_t submitted = 0;
    const uint64_t wanted = kDextioCompletionRingCapacity + 2 * kDextioSlotsPerPipe;
    while (submitted < wanted) {
        // Reuse a slot once its previous transfer has completed.
        if (!Eventually([&] { return client.Ring()->header.completionCount + kDextioSlotsPerPipe > submitted; }, 300)) {
            break;
        }
        CHECK_EQ(client.SubmitSlot(0x81, static_cast<uint8_t>(submitted % kDextioSlotsPerPipe), 64, 0, submitted),
                 kIOReturnSuccess);
        submitted++;
    }
    uint64_t written = client.Ring()->header.completionCount;
    CHECK(written <= kDextioCompletionRingCapacity);
    CHECK(written >= kDextioCompletionRingCapacity - kDextioSlotsPerPipe);
    CHECK(client.Ring()->header.submissionConsumerIndex < submitted);
    // Drained: the client's drain finds entries waiting and kicks; every one completes, in order.
    gate.unlock();
    CHECK(Eventually([&] { return client.Completed() == submitted; }));
    CHECK_EQ(client.Ring()->header.completionCount, submitted);
    DextioCompletion completion;
    CHECK_EQ(client.SubmitSlot(0x81, 0, 64, 0, 1u << 20), kIOReturnSuccess);
    CHECK(client.Wait(1u << 20, &completion));
}

TEST(transfer_corrupt_consumer_index_is_refused)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    DextioCompletionConsumer *consumer = client.Consumer();
    uint32_t producer = client.Ring()->header.producerIndex;
    __atomic_store_n(&consumer->consumerIndex, producer + 5, __ATOMIC_SEQ_CST);  // ahead of the dext
    // Refused for the descriptor path's call; the submission ring's entry is not taken at all.
    std::vector<uint8_t> big(5000);
    CHECK_EQ(client.SubmitDescriptor(0x81, big.data(), big.size(), 0, 3), kIOReturnBadArgument);
    CHECK_EQ(client.SubmitSlot(0x81, 0, 64, 0, 1), kIOReturnSuccess);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK_EQ(client.Ring()->header.submissionConsumerIndex, 0u);
    CHECK_EQ(client.Ring()->header.producerIndex, producer);
    __atomic_store_n(&consumer->consumerIndex, producer, __ATOMIC_SEQ_CST);
    // Sane again: the next kick takes both entries.
    DextioCompletion completion;
    CHECK_EQ(client.SubmitSlot(0x81, 1, 64, 0, 2), kIOReturnSuccess);
    CHECK(client.Wait(1, &completion));
    CHECK(client.Wait(2, &completion));
}

TEST(transfer_ring_is_read_only_and_the_consumer_page_is_the_apps)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    // Only the consumer index is the app's to write; nothing it could write into the ring reaches
    // the dext, which keeps its own producer index and counters.
    CHECK(ProtectionOf(client.Ring()) == "r--s");
    CHECK(ProtectionOf(client.Consumer()) == "rw-s");
    for (uint64_t tag = 1; tag <= 3; tag++) {
        CHECK_EQ(client.SubmitSlot(0x81, 0, 64, 0, tag), kIOReturnSuccess);
        DextioCompletion completion;
        CHECK(client.Wait(tag, &completion));
    }
    CHECK_EQ(client.Ring()->header.producerIndex, 3u);
    CHECK_EQ(client.Ring()->header.completionCount, 3u);
    CHECK_EQ(client.Consumer()->consumerIndex, 3u);
}

TEST(transfer_tag_in_flight_is_refused_on_either_path)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    std::vector<uint8_t> big(8192);
    DextioHostGadgetInjectTimeout(0x81, 1);
    CHECK_EQ(client.SubmitSlot(0x81, 0, 64, 0, 7), kIOReturnSuccess);
    // The same tag again, on the same pipe, another pipe, or the descriptor path.
    CHECK_EQ(client.Refused(0x81, 1, 64, 0, 7), kIOReturnBusy);
    CHECK_EQ(client.Refused(0x82, 0, 64, 0, 7), kIOReturnBusy);
    CHECK_EQ(client.SubmitDescriptor(0x01, big.data(), big.size(), 0, 7), kIOReturnBusy);
    // Descriptor tags are checked against slot tags and each other as well.
    FillPattern(big.data(), big.size());
    DextioHostGadgetInjectTimeout(0x01, 1);
    CHECK_EQ(client.SubmitDescriptor(0x01, big.data(), big.size(), 0, 8), kIOReturnSuccess);
    CHECK_EQ(client.Refused(0x02, 0, 64, 0, 8), kIOReturnBusy);
    CHECK_EQ(client.Ring()->header.completionCount, 3u);  // the three refusals
    for (uint64_t pipe : { 0x81ull, 0x01ull }) {
        CHECK_EQ(client.Call(kDextioSelectorAbortPipe, &pipe, 1), kIOReturnSuccess);
    }
    DextioCompletion completion;
    CHECK(client.Wait(7, &completion));
    CHECK_EQ(completion.status, kIOReturnAborted);
    CHECK(client.Wait(8, &completion));
    CHECK_EQ(completion.status, kIOReturnAborted);
    // Completed: both tags are free again, many times over (the set forgets what completed).
    for (uint64_t round = 0; round < 3 * kDextioSlotsPerPipe; round++) {
        uint64_t tag = round % 2 == 0 ? 7 : 8;
        CHECK_EQ(client.SubmitSlot(0x81, static_cast<uint8_t>(round % kDextioSlotsPerPipe), 64, 0, tag),
                 kIOReturnSuccess);
        CHECK(client.Wait(tag, &completion));
        CHECK_EQ(completion.status, kIOReturnSuccess);
    }
}

TEST(transfer_control_request_never_blocks_transfers)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    // A control request the device does not answer waits for its timeout on the bus, not on the
    // dext's queue: transfers submitted meanwhile complete.
    DextioHostGadgetInjectControlTimeout(1);
    auto started = std::chrono::steady_clock::now();
    CHECK_EQ(client.StartControlIn(0xc0, 0x5c, 64, 400), kIOReturnSuccess);
    for (uint64_t tag = 1; tag <= 4; tag++) {
        CHECK_EQ(client.SubmitSlot(0x81, static_cast<uint8_t>(tag), 512, 0, tag), kIOReturnSuccess);
        DextioCompletion completion;
        CHECK(client.Wait(tag, &completion));
        CHECK_EQ(completion.status, kIOReturnSuccess);
    }
    IOReturn status = kIOReturnSuccess;
    uint64_t bytes = 1;
    CHECK(client.FinishControl(&status, &bytes));
    auto waited = std::chrono::steady_clock::now() - started;
    CHECK_EQ(status, kIOReturnTimeout);
    CHECK_EQ(bytes, 0u);
    CHECK(waited >= std::chrono::milliseconds(400));
    // The next request is answered.
    uint8_t data[64];
    CHECK_EQ(client.ControlIn(0xc0, 0x5c, 0, 0, data, sizeof(data), &bytes), kIOReturnSuccess);
    CHECK_EQ(bytes, 64u);
}

TEST(transfer_high_speed_bus_keeps_to_13_packets_a_microframe)
{
    // 4 MiB in 4 KiB transfers is 8192 packets of 512 bytes: a bus that saves up at most 104
    // packets and then moves 13 per 125 us cannot finish in less than (8192 - 104) / 13
    // microframes, about 78 ms, however fast the software is. Unthrottled, nothing holds it back.
    CHECK_EQ(DextioHostGadgetBus(), kDextioGadgetBusHighSpeed);
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    auto move = [&](uint64_t base) {
        auto start = std::chrono::steady_clock::now();
        uint64_t tag = base;
        for (uint32_t round = 0; round < 1024 / kDextioSlotsPerPipe; round++) {
            for (uint8_t slot = 0; slot < kDextioSlotsPerPipe; slot++) {
                CHECK_EQ(client.SubmitSlot(0x81, slot, 4096, 0, tag + slot), kIOReturnSuccess);
            }
            DextioCompletion completion;
            for (uint8_t slot = 0; slot < kDextioSlotsPerPipe; slot++) {
                CHECK(client.Wait(tag + slot, &completion));
                CHECK_EQ(completion.bytes, 4096u);
            }
            tag += kDextioSlotsPerPipe;
        }
        return std::chrono::steady_clock::now() - start;
    };
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a full budget to start with
    CHECK(move(0) >= std::chrono::microseconds((8192 - 104) / 13 * 125));
    DextioHostGadgetSetBus(kDextioGadgetBusUnthrottled);
    auto unthrottled = move(1u << 20);
    DextioHostGadgetSetBus(kDextioGadgetBusHighSpeed);
    printf("    4 MiB in 4 KiB transfers, unthrottled: %.1f ms\n",
           std::chrono::duration<double, std::milli>(unthrottled).count());
}

TEST(transfer_high_speed_large_transfer_takes_its_time_and_an_abort_frees_the_bus)
{
    // A transfer's packets move over the microframes it needs, and it completes when its last one
    // has: 1 MiB is 2048 packets, at least (2048 - 104) / 13 microframes. An aborted transfer
    // leaves the bus to the next one at once, with no debt of the packets it never moved.
    CHECK_EQ(DextioHostGadgetBus(), kDextioGadgetBusHighSpeed);
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    std::vector<uint8_t> big(4u << 20);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    auto started = std::chrono::steady_clock::now();
    CHECK_EQ(client.SubmitDescriptor(0x81, big.data(), 1u << 20, 0, 1), kIOReturnSuccess);
    DextioCompletion completion;
    CHECK(client.Wait(1, &completion));
    CHECK_EQ(completion.bytes, 1u << 20);
    CHECK(std::chrono::steady_clock::now() - started >= std::chrono::microseconds((2048 - 104) / 13 * 125));

    // 4 MiB would hold the bus for about 80 ms; aborted after 5, the next transfer goes at once.
    CHECK_EQ(client.SubmitDescriptor(0x81, big.data(), big.size(), 0, 2), kIOReturnSuccess);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    uint64_t pipe = 0x81;
    CHECK_EQ(client.Call(kDextioSelectorAbortPipe, &pipe, 1), kIOReturnSuccess);
    CHECK(client.Wait(2, &completion));
    CHECK_EQ(completion.status, kIOReturnAborted);
    started = std::chrono::steady_clock::now();
    CHECK_EQ(client.SubmitSlot(0x81, 0, 4096, 0, 3), kIOReturnSuccess);
    CHECK(client.Wait(3, &completion));
    CHECK_EQ(completion.status, kIOReturnSuccess);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(40));
}
