// Host runtime: a serial queue served by one thread. Backs IODispatchQueue (dext side) and
// dispatch_queue_t (client side).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

struct HostSerialQueue {
    explicit HostSerialQueue(const char *label);
    // Drains what was queued, then stops the thread. Safe to call from the queue's own thread.
    ~HostSerialQueue();

    void Async(std::function<void()> work);
    // Runs work on the queue and waits for it; runs it inline when called on the queue itself.
    void Sync(const std::function<void()> &work);
    bool OnQueue() const;

private:
    // Shared with the thread, which may outlive this object when the last reference to the queue
    // is dropped by work running on the queue.
    struct State {
        std::mutex mutex;
        std::condition_variable wake;
        std::deque<std::function<void()>> items;
        bool stopping = false;
        std::thread::id threadID;
    };
    static void Run(std::shared_ptr<State> state);

    std::shared_ptr<State> state;
    std::thread thread;
};
